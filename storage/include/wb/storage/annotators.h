// wb/storage/annotators.h — annotators and their bearer tokens (table `annotators`). Thread-safe.
//
//   auto added = store.annotators().add("alice");   // added.token: shown once, never stored
//   auto who = store.annotators().find_by_token(t);  // "alice" or nullopt
//
// A token is 32 random bytes from /dev/urandom as 64 hex characters; only its SHA-256 is stored,
// so the database never holds a usable token. Removing an annotator keeps their comparisons
// (they name the annotator as text).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::storage {

class Connection;

struct AnnotatorRecord {
  std::string name;
  std::string created;
  std::int64_t labels = 0;  // comparisons whose annotator is this name (any dataset)
};
void to_json(nlohmann::json& j, const AnnotatorRecord& r);  // {"name","created","labels"}

struct NewAnnotatorToken {
  AnnotatorRecord annotator;
  std::string token;  // the only time the token exists outside the client
};

class AnnotatorRepository {
 public:
  explicit AnnotatorRepository(Connection& conn) : conn_(conn) {}

  NewAnnotatorToken add(std::string_view name);  // validate_name() rules; Conflict when it exists
  std::vector<AnnotatorRecord> list();           // by name
  AnnotatorRecord get(std::string_view name);    // NotFound
  void remove(std::string_view name);            // NotFound
  // The annotator whose token this is (compared by hash); nullopt for any other text.
  std::optional<std::string> find_by_token(std::string_view token);

 private:
  Connection& conn_;
};

// 32 bytes from /dev/urandom as 64 lower-case hex characters (throws Error when unreadable).
std::string random_token_hex();

}  // namespace wb::storage
