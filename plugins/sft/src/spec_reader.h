// spec_reader.h — strict reading of a job spec (a JSON object): every field is read with its
// type and range, and finish() rejects any field nobody read, so a typo is an error naming it.
//
//   SpecReader r(spec);                       // throws SpecError unless spec is an object
//   std::string model = r.str("model");       // required
//   double lr = r.number("lr", 1e-3, 0.0);    // optional with default, minimum 0
//   r.finish();                               // "field 'lrr': unknown field"
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::sft {

// A spec field is missing, of the wrong type, out of range or unknown. what() names the field:
// "field 'rank': must be >= 1, got 0". Maps to WB_INVALID at the C boundary.
class SpecError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Throws SpecError "field '<name>': <message>".
[[noreturn]] void spec_fail(const std::string& field, const std::string& message);

class SpecReader {
 public:
  explicit SpecReader(const nlohmann::json& spec);

  bool has(const std::string& name) const;
  // Marks a field as known without reading it (e.g. "job_id" added by the daemon).
  void allow(const std::string& name);

  std::string str(const std::string& name);  // required non-empty string
  std::optional<std::string> opt_str(const std::string& name);
  std::string str_or(const std::string& name, const std::string& fallback);
  // One of `choices`; the error lists them.
  std::string choice(const std::string& name, const std::vector<std::string>& choices, const std::string& fallback);

  // Integers (JSON integer, or a float with no fraction) within [min, max].
  int64_t integer(const std::string& name, int64_t fallback, int64_t min, int64_t max = INT64_MAX);
  std::optional<int64_t> opt_integer(const std::string& name, int64_t min, int64_t max = INT64_MAX);
  // Finite numbers within [min, max].
  double number(const std::string& name, double fallback, double min, double max = 1e300);
  std::optional<double> opt_number(const std::string& name, double min, double max = 1e300);
  bool boolean(const std::string& name, bool fallback);
  // A list of non-empty strings; a single string is taken as a one-element list.
  std::optional<std::vector<std::string>> opt_strings(const std::string& name);
  // An object (as is); nullopt when absent.
  std::optional<nlohmann::json> opt_object(const std::string& name);

  // Throws SpecError for the first field that was never read or allowed.
  void finish() const;

 private:
  const nlohmann::json* get(const std::string& name);
  const nlohmann::json& spec_;
  std::set<std::string> seen_;
};

}  // namespace wb::sft
