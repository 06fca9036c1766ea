// json_body.h — strict parsing of JSON request bodies.
//
//   nlohmann::json j = parse_json_body(req.body);       // 400 invalid_json "... at byte N ..."
//   Fields f(j, {"name", "kind", "jsonl"});              // 400 invalid_request if j is not an
//                                                        // object or has a field not listed
//   std::string name = f.required_string("name");       // 400 naming the field when missing or
//   int64_t prio = f.optional_int("priority", 0, -100, 100);  // of the wrong type / range
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace wb::daemon {

// Parses `body`; an empty body or a syntax error throws ApiError 400 invalid_json whose message
// names the byte offset.
nlohmann::json parse_json_body(const std::string& body);

// Checks the fields of one JSON object against an allow-list and reads them typed.
class Fields {
 public:
  // Throws 400 invalid_request if `obj` is not an object or holds a field not in `allowed`.
  // `where` prefixes field names in messages ("spec." gives "field 'spec.steps'").
  Fields(const nlohmann::json& obj, std::initializer_list<const char*> allowed,
         std::string where = "");

  bool has(const char* name) const;
  std::string required_string(const char* name) const;           // non-empty string
  std::optional<std::string> optional_string(const char* name) const;
  std::int64_t optional_int(const char* name, std::int64_t fallback, std::int64_t lo,
                            std::int64_t hi) const;
  double optional_number(const char* name, double fallback, double lo, double hi) const;
  bool optional_bool(const char* name, bool fallback) const;
  const nlohmann::json& required_object(const char* name) const;

  [[noreturn]] void fail(const char* name, const std::string& what) const;

 private:
  const nlohmann::json& obj_;
  std::string where_;
};

// Parses a query parameter as a bounded integer; 400 naming the parameter otherwise.
std::int64_t query_int(const std::string& name, const std::string& value, std::int64_t lo,
                       std::int64_t hi);

}  // namespace wb::daemon
