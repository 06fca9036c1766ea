// wb/storage/adapters.h — LoRA adapters and heads produced by jobs (table `adapters`). Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wb/storage/records.h"

namespace wb::storage {

class Connection;

struct NewAdapter {
  std::string name;        // validate_adapter_name() rules (a name, optionally "@version")
  std::string path;        // non-empty
  std::string base_model;  // non-empty (the model name it was trained on; not a foreign key)
  std::optional<std::int64_t> job;  // must name an existing job when set
  int rank = 0;            // > 0
  double alpha = 0;        // > 0
  std::vector<std::string> target_modules;  // non-empty strings
  AdapterKind kind = AdapterKind::Policy;
};

class AdapterRepository {
 public:
  explicit AdapterRepository(Connection& conn) : conn_(conn) {}

  AdapterRecord add(const NewAdapter& adapter);  // Invalid | Conflict (name exists)
  // Builds a NewAdapter from the JSON the host's register_artifact receives:
  // {"name","path","base_model","rank","alpha","target_modules":[..],"kind"} (+ optional "job").
  // Unknown fields / wrong types -> Invalid naming the field.
  static NewAdapter parse(const nlohmann::json& j);
  AdapterRecord get(std::string_view name);      // NotFound
  std::optional<AdapterRecord> find(std::string_view name);
  std::vector<AdapterRecord> list();             // by name
  void remove(std::string_view name);            // NotFound
  std::int64_t count();

 private:
  Connection& conn_;
};

}  // namespace wb::storage
