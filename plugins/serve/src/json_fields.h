// JsonFields: typed reads of JSON values for the serve plugin's request parsers (load_model,
// submit), each error a ServeError(WB_INVALID) naming the call and the field:
//   request: "max_tokens" must be an integer
#pragma once

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "serve_error.h"

namespace wb::serve {

class JsonFields {
 public:
  explicit JsonFields(std::string call) : call_(std::move(call)) {}

  [[noreturn]] void fail(const std::string& field, const std::string& why) const {
    throw ServeError(WB_INVALID, call_ + ": \"" + field + "\" " + why);
  }
  int64_t integer(const nlohmann::json& v, const std::string& field) const {
    if (!v.is_number_integer()) fail(field, "must be an integer");
    return v.get<int64_t>();
  }
  double number(const nlohmann::json& v, const std::string& field) const {
    if (!v.is_number()) fail(field, "must be a number");
    const double x = v.get<double>();
    if (!std::isfinite(x)) fail(field, "must be finite");
    return x;
  }
  std::string string(const nlohmann::json& v, const std::string& field) const {
    if (!v.is_string()) fail(field, "must be a string");
    return v.get<std::string>();
  }

 private:
  std::string call_;
};

}  // namespace wb::serve
