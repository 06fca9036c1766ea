// reader.h — the one strict, typed reader of JSON objects that every layer uses for what comes
// from outside: HTTP request bodies (daemon), job specs and method requests (plugin kit), serving
// requests (serve), dataset rows and records (storage). Every error names the field (with its
// path) and what was expected, and says what was found:
//
//   JsonReader r(body);                         // FieldError unless body is an object
//   std::string model = r.string("model");      // "field 'model': is required"
//   int64_t rank = r.integer_or("rank", 16, 1, 1024);  // "field 'rank': expected an integer 1..1024, got 0"
//   double lr = r.number_or("lr", 1e-3, 0.0);   // "field 'lr': expected a number >= 0, got -1"
//   JsonReader opt = r.child("optimizer");      // errors name "optimizer.beta1"
//   r.finish();                                 // "field 'lrr': unknown field"
//
// Reading a field marks it as known; finish() refuses any field that was neither read nor
// allow()ed, so a typo is an error instead of a silently ignored setting. By default a null value
// counts as absent (JSON clients send null for "not set"); NullIs::value makes it a value of the
// wrong type instead (dataset rows, where null is never meant).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb {

// A JSON value is not what its reader expected. field() is the path of the field ("spec.rank",
// "messages[2].role"; empty when the value itself is wrong), problem() what is wrong; what() is
// "field '<field>': <problem>" (or the problem alone).
class JsonFieldError : public std::invalid_argument {
 public:
  JsonFieldError(std::string field, std::string problem);
  const std::string& field() const { return field_; }
  const std::string& problem() const { return problem_; }

 private:
  std::string field_;
  std::string problem_;
};

// A short rendering of a value for error messages: compact JSON, cut at 60 bytes with "..." (never
// inside a UTF-8 sequence). Strings are quoted.
std::string describe_json(const nlohmann::json& value);

enum class NullIs { absent, value };

class JsonReader {
 public:
  static constexpr int64_t kMaxInt = std::numeric_limits<int64_t>::max();
  static constexpr int64_t kMinInt = std::numeric_limits<int64_t>::min();
  static constexpr double kMaxNumber = std::numeric_limits<double>::max();

  // Throws JsonFieldError(path without its trailing '.', "expected a JSON object, got ...")
  // unless `object` is an object. `path` prefixes field names in errors ("spec." gives
  // "spec.rank"). `object` must outlive the reader.
  explicit JsonReader(const nlohmann::json& object, std::string path = "", NullIs nulls = NullIs::absent);
  // A reader keeps a reference: over a temporary it would dangle.
  JsonReader(nlohmann::json&& object, std::string path = "", NullIs nulls = NullIs::absent) = delete;

  // Present (and, under NullIs::absent, not null). Does not mark the field as read.
  bool has(std::string_view key) const;
  // The value (nullptr when absent), marking the field as read.
  const nlohmann::json* find(std::string_view key);
  // Marks fields as known without reading them (e.g. "job_id", added by the daemon).
  void allow(std::string_view key);
  void allow(std::initializer_list<std::string_view> keys);
  // Throws for the first field (in key order) that is not in `allowed`; marks them all as known.
  void allow_only(std::initializer_list<std::string_view> allowed);

  // Strings: present, a string, and (unless allow_empty) not empty.
  std::string string(std::string_view key, bool allow_empty = false);
  std::optional<std::string> optional_string(std::string_view key, bool allow_empty = false);
  std::string string_or(std::string_view key, const std::string& fallback, bool allow_empty = false);
  // A string equal to one of `choices` (the error lists them).
  std::string one_of(std::string_view key, const std::vector<std::string>& choices);
  std::optional<std::string> optional_one_of(std::string_view key, const std::vector<std::string>& choices);
  std::string one_of_or(std::string_view key, const std::vector<std::string>& choices, const std::string& fallback);

  // Integers in [lo, hi]. A JSON float with no fraction (2.0) is accepted only when
  // `whole_floats` (job specs written by tools that print every number as a float).
  int64_t integer(std::string_view key, int64_t lo = kMinInt, int64_t hi = kMaxInt);
  std::optional<int64_t> optional_integer(std::string_view key, int64_t lo = kMinInt, int64_t hi = kMaxInt);
  int64_t integer_or(std::string_view key, int64_t fallback, int64_t lo = kMinInt, int64_t hi = kMaxInt);
  // Finite numbers in [lo, hi].
  double number(std::string_view key, double lo = -kMaxNumber, double hi = kMaxNumber);
  std::optional<double> optional_number(std::string_view key, double lo = -kMaxNumber, double hi = kMaxNumber);
  double number_or(std::string_view key, double fallback, double lo = -kMaxNumber, double hi = kMaxNumber);
  bool boolean(std::string_view key);
  std::optional<bool> optional_boolean(std::string_view key);
  bool boolean_or(std::string_view key, bool fallback);

  // A list of non-empty strings; with `single_ok`, one string is taken as a one-element list.
  std::optional<std::vector<std::string>> optional_strings(std::string_view key, bool single_ok = true);
  // An object or array, as it is.
  const nlohmann::json& object(std::string_view key);
  std::optional<nlohmann::json> optional_object(std::string_view key);
  const nlohmann::json& array(std::string_view key);
  // A reader over the object at `key` (required), its errors prefixed "key.".
  JsonReader child(std::string_view key);

  void accept_whole_floats(bool on) { whole_floats_ = on; }
  const std::string& path() const { return path_; }

  // Throws for the first field (in key order) that was never read or allowed.
  void finish() const;
  // Throws JsonFieldError(path + key, problem).
  [[noreturn]] void fail(std::string_view key, const std::string& problem) const;

 private:
  const nlohmann::json* present(std::string_view key);  // find(), but absent when null under NullIs::absent
  const nlohmann::json& required(std::string_view key);

  const nlohmann::json& obj_;
  std::string path_;
  NullIs nulls_;
  bool whole_floats_ = false;
  std::set<std::string, std::less<>> seen_;
};

}  // namespace wb
