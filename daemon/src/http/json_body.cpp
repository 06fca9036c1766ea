#include "http/json_body.h"

#include <charconv>

#include "http/api_error.h"

namespace wb::daemon {

using nlohmann::json;

json parse_json_body(const std::string& body) {
  if (body.empty()) throw ApiError(400, "invalid_json", "request body is empty; expected a JSON object");
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    // e.byte is 1-based position of the offending character; report the 0-based offset.
    std::size_t off = e.byte > 0 ? e.byte - 1 : 0;
    std::string what = e.what();
    // nlohmann's what() is "[json.exception.parse_error.101] parse error at line 1, column 5: ..."
    auto p = what.find("parse error");
    if (p != std::string::npos) what = what.substr(p);
    throw ApiError(400, "invalid_json", "invalid JSON at byte offset " + std::to_string(off) + ": " + what);
  }
}

static const char* type_name(const json& v) { return v.type_name(); }

Fields::Fields(const json& obj, std::initializer_list<const char*> allowed, std::string where)
    : obj_(obj), where_(std::move(where)) {
  if (!obj_.is_object()) {
    std::string w = where_.empty() ? "request body" : "field '" + where_.substr(0, where_.size() - 1) + "'";
    throw invalid_request(w + ": expected a JSON object, got " + type_name(obj_));
  }
  for (auto it = obj_.begin(); it != obj_.end(); ++it) {
    bool ok = false;
    for (const char* a : allowed) ok = ok || it.key() == a;
    if (!ok) throw invalid_request("unknown field '" + where_ + it.key() + "'");
  }
}

void Fields::fail(const char* name, const std::string& what) const {
  throw invalid_request("field '" + where_ + name + "': " + what);
}

bool Fields::has(const char* name) const { return obj_.contains(name) && !obj_.at(name).is_null(); }

std::string Fields::required_string(const char* name) const {
  if (!obj_.contains(name)) fail(name, "required");
  const json& v = obj_.at(name);
  if (!v.is_string()) fail(name, std::string("expected a string, got ") + type_name(v));
  if (v.get_ref<const std::string&>().empty()) fail(name, "must not be empty");
  return v.get<std::string>();
}

std::optional<std::string> Fields::optional_string(const char* name) const {
  if (!has(name)) return std::nullopt;
  const json& v = obj_.at(name);
  if (!v.is_string()) fail(name, std::string("expected a string, got ") + type_name(v));
  return v.get<std::string>();
}

std::int64_t Fields::optional_int(const char* name, std::int64_t fallback, std::int64_t lo,
                                  std::int64_t hi) const {
  if (!has(name)) return fallback;
  const json& v = obj_.at(name);
  if (!v.is_number_integer()) fail(name, std::string("expected an integer, got ") + type_name(v));
  std::int64_t x = v.is_number_unsigned() && v.get<std::uint64_t>() > std::uint64_t(INT64_MAX)
                       ? INT64_MAX
                       : v.get<std::int64_t>();
  if (x < lo || x > hi)
    fail(name, "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) +
                   ", got " + v.dump());
  return x;
}

double Fields::optional_number(const char* name, double fallback, double lo, double hi) const {
  if (!has(name)) return fallback;
  const json& v = obj_.at(name);
  if (!v.is_number()) fail(name, std::string("expected a number, got ") + type_name(v));
  double x = v.get<double>();
  if (!(x >= lo && x <= hi))
    fail(name, "expected a number in " + json(lo).dump() + ".." + json(hi).dump() + ", got " + v.dump());
  return x;
}

bool Fields::optional_bool(const char* name, bool fallback) const {
  if (!has(name)) return fallback;
  const json& v = obj_.at(name);
  if (!v.is_boolean()) fail(name, std::string("expected true or false, got ") + type_name(v));
  return v.get<bool>();
}

const json& Fields::required_object(const char* name) const {
  if (!obj_.contains(name)) fail(name, "required");
  const json& v = obj_.at(name);
  if (!v.is_object()) fail(name, std::string("expected an object, got ") + type_name(v));
  return v;
}

std::int64_t query_int(const std::string& name, const std::string& value, std::int64_t lo,
                       std::int64_t hi) {
  std::int64_t x = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), x);
  if (ec != std::errc() || p != value.data() + value.size() || value.empty())
    throw invalid_request("query parameter '" + name + "': expected an integer, got '" + value + "'");
  if (x < lo || x > hi)
    throw invalid_request("query parameter '" + name + "': expected " + std::to_string(lo) + ".." +
                          std::to_string(hi) + ", got " + value);
  return x;
}

}  // namespace wb::daemon
