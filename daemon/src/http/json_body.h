// json_body.h — parsing JSON request bodies and query parameters.
//
//   nlohmann::json j = parse_json_body(req.body);       // 400 invalid_json "... at byte offset N ..."
//   JsonReader f = body_fields(j, {"name", "kind"});    // 400 invalid_request unless j is an object
//                                                       // holding only those fields
//   std::string name = f.string("name");                // wb/json/reader.h; its JsonFieldError
//                                                       // answers 400 invalid_request (daemon.cpp)
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "wb/json/reader.h"

namespace wb::daemon {

// Parses `body` within wb::JsonLimits (nesting depth, value count); an empty body, a syntax error
// or a body beyond a limit throws ApiError 400 invalid_json whose message names the byte offset.
nlohmann::json parse_json_body(const std::string& body);

// A reader over the request body object `obj` that refuses any field not in `allowed` at once
// (naming it, with `path` as prefix: "stream_options." gives "stream_options.x"). `obj` must
// outlive the reader.
JsonReader body_fields(const nlohmann::json& obj, std::initializer_list<std::string_view> allowed,
                       std::string path = "");
JsonReader body_fields(nlohmann::json&& obj, std::initializer_list<std::string_view> allowed,
                       std::string path = "") = delete;  // the reader would dangle

// Parses a query parameter as a bounded integer; 400 naming the parameter otherwise.
std::int64_t query_int(const std::string& name, const std::string& value, std::int64_t lo,
                       std::int64_t hi);

}  // namespace wb::daemon
