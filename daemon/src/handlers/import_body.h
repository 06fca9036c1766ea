// import_body.h — the body of POST /v1/datasets, read without building it as a JSON document.
//
//   ImportBody b = parse_import_body(req.body);
//   JsonReader f = body_fields(b.fields, {...});   // b.fields["jsonl"] is "" when b.jsonl holds the text
//
// An inline import may be hundreds of MB, nearly all of it the "jsonl" string. Parsed into a
// document that string would be held three times (the body, the parser's buffer, the document);
// here the parser's decoded buffer is moved into `jsonl` and every other top-level field is kept
// as a small JSON value (a nested object or array as an empty one of its type: the import takes
// only scalars, so that is enough to name a wrong type).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace wb::daemon {

struct ImportBody {
  nlohmann::json fields;  // the top-level value as described above (an object for a valid body)
  std::string jsonl;      // the decoded "jsonl" string, when the body has one
};

// The same errors as parse_json_body(): 400 invalid_json naming the byte offset for an empty
// body, a syntax error, nesting past the depth limit, too many values or a number out of range
// (naming its field).
ImportBody parse_import_body(const std::string& body);

}  // namespace wb::daemon
