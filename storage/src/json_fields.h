// Internal: strict field access on a parsed JSON object, with the error wording every validator
// in libwb_storage shares ("field 'rating': expected an integer 0..3, got 7").
//
// Readers throw FieldProblem; callers prefix it ("line 12: " for dataset files) and rethrow it as
// the public exception type (InvalidDataset or Invalid).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wb::storage::detail {

struct FieldProblem {
  std::string field;    // "" when the problem is the value itself (not an object)
  std::string problem;  // "expected a string, got 7"

  // "field 'x': problem" (or just "problem" when field is empty).
  std::string message() const;
};

// A short rendering of a value for error messages: compact JSON, cut at 60 bytes with "...".
std::string describe(const nlohmann::json& value);

// Canonical text of a string value: JSON-quoted, UTF-8 kept as is.
std::string quote(std::string_view text);

class ObjectReader {
 public:
  // `path` prefixes field names in errors ("messages[2]." gives "messages[2].role").
  explicit ObjectReader(const nlohmann::json& object, std::string path = "");

  // Throws for the first key not in `allowed` (keys in sorted order, as nlohmann::json keeps them).
  void allow_only(std::initializer_list<std::string_view> allowed) const;
  bool has(std::string_view key) const;
  const nlohmann::json* find(std::string_view key) const;

  // Present, a string, and (unless allow_empty) not empty.
  const std::string& string(std::string_view key, bool allow_empty = false) const;
  // Absent -> nullopt; present -> same rules as string().
  std::optional<std::string> optional_string(std::string_view key, bool allow_empty = false) const;
  // An integer in [lo, hi] (a float such as 2.0 is refused).
  std::int64_t integer(std::string_view key, std::int64_t lo, std::int64_t hi) const;
  std::optional<std::int64_t> optional_integer(std::string_view key, std::int64_t lo, std::int64_t hi) const;
  // Any finite number in [lo, hi].
  double number(std::string_view key, double lo, double hi) const;
  std::optional<double> optional_number(std::string_view key, double lo, double hi) const;
  bool boolean(std::string_view key) const;
  std::optional<bool> optional_boolean(std::string_view key) const;
  // A string equal to one of `choices`.
  const std::string& one_of(std::string_view key, std::initializer_list<std::string_view> choices) const;
  std::optional<std::string> optional_one_of(std::string_view key, std::initializer_list<std::string_view> choices) const;

  [[noreturn]] void fail(std::string_view key, std::string problem) const;

 private:
  const nlohmann::json& obj_;
  std::string path_;
};

// Throws FieldProblem{"", "expected a JSON object, got ..."} unless `value` is an object.
void require_object(const nlohmann::json& value);

}  // namespace wb::storage::detail
