#include "http/json_body.h"

#include <charconv>

#include "http/api_error.h"
#include "wb/json/parse.h"

namespace wb::daemon {

using nlohmann::json;

json parse_json_body(const std::string& body) {
  if (body.empty()) throw ApiError(400, "invalid_json", "request body is empty; expected a JSON object");
  try {
    return parse_json(body);
  } catch (const JsonParseError& e) {
    throw ApiError(400, "invalid_json", e.what());
  }
}

JsonReader body_fields(const json& obj, std::initializer_list<std::string_view> allowed, std::string path) {
  if (!obj.is_object() && path.empty()) throw JsonFieldError("", "request body: expected a JSON object, got " + describe_json(obj));
  JsonReader r(obj, std::move(path));
  r.allow_only(allowed);
  return r;
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
