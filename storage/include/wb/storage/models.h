// wb/storage/models.h — registered base models (table `models`). Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wb/storage/records.h"

namespace wb::storage {

class Connection;

struct NewModel {
  std::string name;  // validate_name() rules
  std::string path;  // non-empty
  nlohmann::json config = nlohmann::json::object();
  std::string dtype;  // non-empty
  std::string hash;   // may be empty
};

class ModelRepository {
 public:
  explicit ModelRepository(Connection& conn) : conn_(conn) {}

  // Throws Invalid (bad name/path/dtype, config not an object) or Conflict (name exists).
  ModelRecord add(const NewModel& model);
  // Builds a NewModel from the JSON the host's register_artifact receives:
  // {"name","path","config":{..},"dtype"} (+ optional "hash"). Unknown fields / wrong types ->
  // Invalid naming the field.
  static NewModel parse(const nlohmann::json& j);
  ModelRecord get(std::string_view name);                 // NotFound
  std::optional<ModelRecord> find(std::string_view name);
  std::vector<ModelRecord> list();                        // by name
  void remove(std::string_view name);                     // NotFound
  std::int64_t count();

 private:
  Connection& conn_;
};

}  // namespace wb::storage
