#include "spec_reader.h"

#include <cmath>

namespace wb::sft {

void spec_fail(const std::string& field, const std::string& message) {
  throw SpecError("field '" + field + "': " + message);
}

SpecReader::SpecReader(const nlohmann::json& spec) : spec_(spec) {
  if (!spec_.is_object()) throw SpecError("spec: expected a JSON object");
}

bool SpecReader::has(const std::string& name) const { return spec_.contains(name) && !spec_.at(name).is_null(); }

void SpecReader::allow(const std::string& name) { seen_.insert(name); }

const nlohmann::json* SpecReader::get(const std::string& name) {
  seen_.insert(name);
  auto it = spec_.find(name);
  if (it == spec_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> SpecReader::opt_str(const std::string& name) {
  const auto* v = get(name);
  if (!v) return std::nullopt;
  if (!v->is_string()) spec_fail(name, std::string("expected a string, got ") + v->type_name());
  if (v->get_ref<const std::string&>().empty()) spec_fail(name, "must not be empty");
  return v->get<std::string>();
}

std::string SpecReader::str(const std::string& name) {
  auto v = opt_str(name);
  if (!v) spec_fail(name, "missing (required)");
  return *v;
}

std::string SpecReader::str_or(const std::string& name, const std::string& fallback) {
  auto v = opt_str(name);
  return v ? *v : fallback;
}

std::string SpecReader::choice(const std::string& name, const std::vector<std::string>& choices,
                               const std::string& fallback) {
  const std::string v = str_or(name, fallback);
  for (const auto& c : choices)
    if (c == v) return v;
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  spec_fail(name, "expected one of " + list + ", got '" + v + "'");
}

std::optional<int64_t> SpecReader::opt_integer(const std::string& name, int64_t min, int64_t max) {
  const auto* v = get(name);
  if (!v) return std::nullopt;
  int64_t x = 0;
  if (v->is_number_integer()) {
    x = v->get<int64_t>();
  } else if (v->is_number_float() && std::isfinite(v->get<double>()) && std::floor(v->get<double>()) == v->get<double>() &&
             std::fabs(v->get<double>()) < 9e15) {
    x = static_cast<int64_t>(v->get<double>());
  } else {
    spec_fail(name, std::string("expected an integer, got ") + (v->is_number() ? v->dump() : v->type_name()));
  }
  if (x < min) spec_fail(name, "must be >= " + std::to_string(min) + ", got " + std::to_string(x));
  if (x > max) spec_fail(name, "must be <= " + std::to_string(max) + ", got " + std::to_string(x));
  return x;
}

int64_t SpecReader::integer(const std::string& name, int64_t fallback, int64_t min, int64_t max) {
  auto v = opt_integer(name, min, max);
  return v ? *v : fallback;
}

std::optional<double> SpecReader::opt_number(const std::string& name, double min, double max) {
  const auto* v = get(name);
  if (!v) return std::nullopt;
  if (!v->is_number()) spec_fail(name, std::string("expected a number, got ") + v->type_name());
  const double x = v->get<double>();
  if (!std::isfinite(x)) spec_fail(name, "must be finite");
  if (x < min) spec_fail(name, "must be >= " + nlohmann::json(min).dump() + ", got " + v->dump());
  if (x > max) spec_fail(name, "must be <= " + nlohmann::json(max).dump() + ", got " + v->dump());
  return x;
}

double SpecReader::number(const std::string& name, double fallback, double min, double max) {
  auto v = opt_number(name, min, max);
  return v ? *v : fallback;
}

bool SpecReader::boolean(const std::string& name, bool fallback) {
  const auto* v = get(name);
  if (!v) return fallback;
  if (!v->is_boolean()) spec_fail(name, std::string("expected true or false, got ") + v->type_name());
  return v->get<bool>();
}

std::optional<std::vector<std::string>> SpecReader::opt_strings(const std::string& name) {
  const auto* v = get(name);
  if (!v) return std::nullopt;
  std::vector<std::string> out;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    for (const auto& e : *v) {
      if (!e.is_string()) spec_fail(name, "expected a list of strings");
      out.push_back(e.get<std::string>());
    }
  } else {
    spec_fail(name, std::string("expected a list of strings, got ") + v->type_name());
  }
  for (const auto& s : out)
    if (s.empty()) spec_fail(name, "entries must not be empty");
  return out;
}

std::optional<nlohmann::json> SpecReader::opt_object(const std::string& name) {
  const auto* v = get(name);
  if (!v) return std::nullopt;
  if (!v->is_object()) spec_fail(name, std::string("expected an object, got ") + v->type_name());
  return *v;
}

void SpecReader::finish() const {
  for (auto it = spec_.begin(); it != spec_.end(); ++it)
    if (!seen_.count(it.key())) spec_fail(it.key(), "unknown field");
}

}  // namespace wb::sft
