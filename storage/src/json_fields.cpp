#include "json_fields.h"

#include <cmath>
#include <limits>

namespace wb::storage::detail {

std::string FieldProblem::message() const {
  if (field.empty()) return problem;
  return "field '" + field + "': " + problem;
}

std::string describe(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > 60) {
    std::size_t cut = 57;
    // Do not cut inside a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text = text.substr(0, cut) + "...";
  }
  return text;
}

std::string quote(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

void require_object(const nlohmann::json& value) {
  if (!value.is_object()) throw FieldProblem{"", "expected a JSON object, got " + describe(value)};
}

ObjectReader::ObjectReader(const nlohmann::json& object, std::string path) : obj_(object), path_(std::move(path)) {}

void ObjectReader::fail(std::string_view key, std::string problem) const {
  throw FieldProblem{path_ + std::string(key), std::move(problem)};
}

void ObjectReader::allow_only(std::initializer_list<std::string_view> allowed) const {
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    bool known = false;
    for (std::string_view a : allowed) known = known || it.key() == a;
    if (!known) fail(it.key(), "unknown field");
  }
}

const nlohmann::json* ObjectReader::find(std::string_view key) const {
  auto it = obj_.find(std::string(key));
  return it == obj_.end() ? nullptr : &*it;
}

bool ObjectReader::has(std::string_view key) const { return find(key) != nullptr; }

const std::string& ObjectReader::string(std::string_view key, bool allow_empty) const {
  const nlohmann::json* v = find(key);
  if (!v) fail(key, "is required");
  if (!v->is_string()) fail(key, "expected a string, got " + describe(*v));
  const std::string& s = v->get_ref<const std::string&>();
  if (!allow_empty && s.empty()) fail(key, "must not be empty");
  return s;
}

std::optional<std::string> ObjectReader::optional_string(std::string_view key, bool allow_empty) const {
  if (!has(key)) return std::nullopt;
  return string(key, allow_empty);
}

std::int64_t ObjectReader::integer(std::string_view key, std::int64_t lo, std::int64_t hi) const {
  const nlohmann::json* v = find(key);
  std::string expected = "expected an integer " + std::to_string(lo) + ".." + std::to_string(hi);
  if (hi == std::numeric_limits<std::int64_t>::max()) expected = "expected an integer >= " + std::to_string(lo);
  if (!v) fail(key, "is required");
  if (v->is_number_unsigned()) {
    auto u = v->get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(hi) && static_cast<std::int64_t>(u) >= lo) return static_cast<std::int64_t>(u);
  } else if (v->is_number_integer()) {
    auto i = v->get<std::int64_t>();
    if (i >= lo && i <= hi) return i;
  }
  fail(key, expected + ", got " + describe(*v));
}

std::optional<std::int64_t> ObjectReader::optional_integer(std::string_view key, std::int64_t lo,
                                                           std::int64_t hi) const {
  if (!has(key)) return std::nullopt;
  return integer(key, lo, hi);
}

double ObjectReader::number(std::string_view key, double lo, double hi) const {
  const nlohmann::json* v = find(key);
  if (!v) fail(key, "is required");
  if (v->is_number()) {
    double d = v->get<double>();
    if (std::isfinite(d) && d >= lo && d <= hi) return d;
  }
  // Bounds print as integers when they are whole ("0..1", ">= 0"); an upper bound at the top of
  // the double range means "no upper bound".
  auto bound = [](double b) {
    if (std::floor(b) == b && std::fabs(b) < 1e15) return std::to_string(static_cast<long long>(b));
    return nlohmann::json(b).dump();
  };
  std::string range;
  if (hi >= std::numeric_limits<double>::max())
    range = " >= " + bound(lo);
  else
    range = " " + bound(lo) + ".." + bound(hi);
  fail(key, "expected a number" + range + ", got " + describe(*v));
}

std::optional<double> ObjectReader::optional_number(std::string_view key, double lo, double hi) const {
  if (!has(key)) return std::nullopt;
  return number(key, lo, hi);
}

bool ObjectReader::boolean(std::string_view key) const {
  const nlohmann::json* v = find(key);
  if (!v) fail(key, "is required");
  if (!v->is_boolean()) fail(key, "expected true or false, got " + describe(*v));
  return v->get<bool>();
}

std::optional<bool> ObjectReader::optional_boolean(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return boolean(key);
}

const std::string& ObjectReader::one_of(std::string_view key, std::initializer_list<std::string_view> choices) const {
  const nlohmann::json* v = find(key);
  if (!v) fail(key, "is required");
  if (v->is_string()) {
    const std::string& s = v->get_ref<const std::string&>();
    for (std::string_view c : choices)
      if (s == c) return s;
  }
  std::string list;
  for (std::string_view c : choices) {
    if (!list.empty()) list += ", ";
    list += c;
  }
  fail(key, "expected one of " + list + ", got " + describe(*v));
}

std::optional<std::string> ObjectReader::optional_one_of(std::string_view key,
                                                         std::initializer_list<std::string_view> choices) const {
  if (!has(key)) return std::nullopt;
  return one_of(key, choices);
}

}  // namespace wb::storage::detail
