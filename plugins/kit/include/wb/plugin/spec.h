// spec.h — reading a job spec or a method request strictly, with the one JSON reader of the
// stack (wb/json/reader.h): every field read with its type and range, finish() refusing any field
// nobody read, every error naming the field. Errors are JsonFieldError (WB_INVALID through guard.h).
//
//   const nlohmann::json spec = parse_spec(spec_json);  // JsonParseError beyond the limits
//   SpecReader r(spec);
//   std::string model = r.string("model");             // required
//   double lr = r.number_or("lr", 1e-3, 0.0);           // optional with default, minimum 0
//   r.finish();                                         // "field 'lrr': unknown field"
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "wb/json/parse.h"
#include "wb/json/reader.h"

namespace wb::plugin {

using SpecError = JsonFieldError;

// A JsonReader for specs: integers may also come as whole floats (2.0), as tools that print every
// number as a float write them.
class SpecReader : public JsonReader {
 public:
  explicit SpecReader(const nlohmann::json& spec, std::string path = "") : JsonReader(spec, std::move(path)) {
    accept_whole_floats(true);
  }
  SpecReader(nlohmann::json&& spec, std::string path = "") = delete;  // would dangle
};

// Throws SpecError "field '<field>': <message>".
[[noreturn]] inline void spec_fail(const std::string& field, const std::string& message) {
  throw SpecError(field, message);
}

// Parses the JSON text the daemon hands to validate()/run()/invoke() (NULL reads as empty, which
// is an error), within the default JsonLimits.
inline nlohmann::json parse_spec(const char* text) { return parse_json(text ? text : ""); }

}  // namespace wb::plugin
