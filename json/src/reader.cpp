#include "wb/json/reader.h"

#include <cmath>

namespace wb {
namespace {

std::string field_message(const std::string& field, const std::string& problem) {
  return field.empty() ? problem : "field '" + field + "': " + problem;
}

// Bounds print as integers when they are whole ("0..1", ">= 0").
std::string bound(double b) {
  if (std::floor(b) == b && std::fabs(b) < 1e15) return std::to_string(static_cast<long long>(b));
  return nlohmann::json(b).dump();
}

// " lo..hi", " >= lo", " <= hi" or "" for the whole range.
template <typename T>
std::string range_text(T lo, T hi, T min, T max) {
  const bool has_lo = lo > min, has_hi = hi < max;
  if (has_lo && has_hi) return " " + bound(double(lo)) + ".." + bound(double(hi));
  if (has_lo) return " >= " + bound(double(lo));
  if (has_hi) return " <= " + bound(double(hi));
  return "";
}

std::string choices_text(const std::vector<std::string>& choices) {
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  return list;
}

}  // namespace

JsonFieldError::JsonFieldError(std::string field, std::string problem)
    : std::invalid_argument(field_message(field, problem)), field_(std::move(field)), problem_(std::move(problem)) {}

std::string describe_json(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 60) {
    std::size_t cut = 57;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  return text;
}

JsonReader::JsonReader(const nlohmann::json& object, std::string path, NullIs nulls)
    : obj_(object), path_(std::move(path)), nulls_(nulls) {
  if (!obj_.is_object()) {
    std::string where = path_;
    if (!where.empty() && where.back() == '.') where.pop_back();
    throw JsonFieldError(where, "expected a JSON object, got " + describe_json(obj_));
  }
}

void JsonReader::fail(std::string_view key, const std::string& problem) const {
  throw JsonFieldError(path_ + std::string(key), problem);
}

bool JsonReader::has(std::string_view key) const {
  auto it = obj_.find(key);
  return it != obj_.end() && !(nulls_ == NullIs::absent && it->is_null());
}

const nlohmann::json* JsonReader::find(std::string_view key) {
  seen_.emplace(key);
  auto it = obj_.find(key);
  return it == obj_.end() ? nullptr : &*it;
}

const nlohmann::json* JsonReader::present(std::string_view key) {
  const nlohmann::json* v = find(key);
  if (v && nulls_ == NullIs::absent && v->is_null()) return nullptr;
  return v;
}

const nlohmann::json& JsonReader::required(std::string_view key) {
  const nlohmann::json* v = present(key);
  if (!v) fail(key, "is required");
  return *v;
}

void JsonReader::allow(std::string_view key) { seen_.emplace(key); }

void JsonReader::allow(std::initializer_list<std::string_view> keys) {
  for (auto k : keys) allow(k);
}

void JsonReader::allow_only(std::initializer_list<std::string_view> allowed) {
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || it.key() == a;
    if (!known) fail(it.key(), "unknown field");
  }
  allow(allowed);
}

void JsonReader::finish() const {
  for (auto it = obj_.begin(); it != obj_.end(); ++it)
    if (!seen_.count(it.key())) fail(it.key(), "unknown field");
}

// ---- strings --------------------------------------------------------------------------------

std::string JsonReader::string(std::string_view key, bool allow_empty) {
  const nlohmann::json& v = required(key);
  if (!v.is_string()) fail(key, "expected a string, got " + describe_json(v));
  const std::string& s = v.get_ref<const std::string&>();
  if (!allow_empty && s.empty()) fail(key, "must not be empty");
  return s;
}

std::optional<std::string> JsonReader::optional_string(std::string_view key, bool allow_empty) {
  if (!present(key)) return std::nullopt;
  return string(key, allow_empty);
}

std::string JsonReader::string_or(std::string_view key, const std::string& fallback, bool allow_empty) {
  auto v = optional_string(key, allow_empty);
  return v ? *v : fallback;
}

std::string JsonReader::one_of(std::string_view key, const std::vector<std::string>& choices) {
  const nlohmann::json& v = required(key);
  if (v.is_string())
    for (const auto& c : choices)
      if (v.get_ref<const std::string&>() == c) return c;
  fail(key, "expected one of " + choices_text(choices) + ", got " + describe_json(v));
}

std::optional<std::string> JsonReader::optional_one_of(std::string_view key, const std::vector<std::string>& choices) {
  if (!present(key)) return std::nullopt;
  return one_of(key, choices);
}

std::string JsonReader::one_of_or(std::string_view key, const std::vector<std::string>& choices,
                                  const std::string& fallback) {
  auto v = optional_one_of(key, choices);
  return v ? *v : fallback;
}

// ---- numbers --------------------------------------------------------------------------------

int64_t JsonReader::integer(std::string_view key, int64_t lo, int64_t hi) {
  const nlohmann::json& v = required(key);
  const std::string expected = "expected an integer" + range_text(lo, hi, kMinInt, kMaxInt);
  if (v.is_number_unsigned()) {
    const auto u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(kMaxInt) && static_cast<int64_t>(u) >= lo && static_cast<int64_t>(u) <= hi)
      return static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    const auto i = v.get<int64_t>();
    if (i >= lo && i <= hi) return i;
  } else if (whole_floats_ && v.is_number_float()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9e15) {
      const auto i = static_cast<int64_t>(d);
      if (i >= lo && i <= hi) return i;
    }
  }
  fail(key, expected + ", got " + describe_json(v));
}

std::optional<int64_t> JsonReader::optional_integer(std::string_view key, int64_t lo, int64_t hi) {
  if (!present(key)) return std::nullopt;
  return integer(key, lo, hi);
}

int64_t JsonReader::integer_or(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) {
  auto v = optional_integer(key, lo, hi);
  return v ? *v : fallback;
}

double JsonReader::number(std::string_view key, double lo, double hi) {
  const nlohmann::json& v = required(key);
  if (v.is_number()) {
    const double d = v.get<double>();
    if (std::isfinite(d) && d >= lo && d <= hi) return d;
  }
  fail(key, "expected a number" + range_text(lo, hi, -kMaxNumber, kMaxNumber) + ", got " + describe_json(v));
}

std::optional<double> JsonReader::optional_number(std::string_view key, double lo, double hi) {
  if (!present(key)) return std::nullopt;
  return number(key, lo, hi);
}

double JsonReader::number_or(std::string_view key, double fallback, double lo, double hi) {
  auto v = optional_number(key, lo, hi);
  return v ? *v : fallback;
}

bool JsonReader::boolean(std::string_view key) {
  const nlohmann::json& v = required(key);
  if (!v.is_boolean()) fail(key, "expected true or false, got " + describe_json(v));
  return v.get<bool>();
}

std::optional<bool> JsonReader::optional_boolean(std::string_view key) {
  if (!present(key)) return std::nullopt;
  return boolean(key);
}

bool JsonReader::boolean_or(std::string_view key, bool fallback) {
  auto v = optional_boolean(key);
  return v ? *v : fallback;
}

// ---- structures -----------------------------------------------------------------------------

std::optional<std::vector<std::string>> JsonReader::optional_strings(std::string_view key, bool single_ok) {
  const nlohmann::json* v = present(key);
  if (!v) return std::nullopt;
  std::vector<std::string> out;
  if (single_ok && v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    for (const auto& e : *v) {
      if (!e.is_string()) fail(key, "expected a list of strings, got " + describe_json(*v));
      out.push_back(e.get<std::string>());
    }
  } else {
    fail(key, "expected a list of strings, got " + describe_json(*v));
  }
  for (const auto& s : out)
    if (s.empty()) fail(key, "entries must not be empty");
  return out;
}

const nlohmann::json& JsonReader::object(std::string_view key) {
  const nlohmann::json& v = required(key);
  if (!v.is_object()) fail(key, "expected an object, got " + describe_json(v));
  return v;
}

std::optional<nlohmann::json> JsonReader::optional_object(std::string_view key) {
  if (!present(key)) return std::nullopt;
  return object(key);
}

const nlohmann::json& JsonReader::array(std::string_view key) {
  const nlohmann::json& v = required(key);
  if (!v.is_array()) fail(key, "expected an array, got " + describe_json(v));
  return v;
}

JsonReader JsonReader::child(std::string_view key) {
  return JsonReader(object(key), path_ + std::string(key) + ".", nulls_);
}

}  // namespace wb
