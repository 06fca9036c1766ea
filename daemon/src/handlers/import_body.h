// import_body.h — the body of POST /v1/datasets, read without building it as a JSON document.
//
//   ImportBody b = parse_import_body(req.body);
//   JsonReader f = body_fields(b.fields, {...});   // b.fields["jsonl"] is "" (the text is apart)
//
// An inline import may be hundreds of MB, nearly all of it the "jsonl" string. Parsed into a
// document that string would be held three times (the body, the parser's buffer, the document);
// here the string's place in the body is found and it is decoded line by line as the rows are
// written (JsonStringLines); every other top-level field is kept as a small JSON value (a nested
// object or array as an empty one of its type: the import takes only scalars, so that is enough
// to name a wrong type).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wb::daemon {

struct ImportBody {
  nlohmann::json fields;  // the top-level value as described above (an object for a valid body)
  // The "jsonl" string. Usually `raw` is set and `escaped` is its text as written in the body
  // (between the quotes, escapes not decoded: read it with JsonStringLines, while the body lives).
  // When the body spells the key with escapes, the string is decoded into `jsonl` instead.
  bool raw = false;
  std::string_view escaped;
  std::size_t escaped_offset = 0;  // byte offset of `escaped` in the body
  std::string jsonl;
};

// Decodes the escaped text of a JSON string a line at a time (a decoded '\n' ends a line; a final
// one starts no new line), so a large inline import is never held decoded as a whole. A bad
// escape, a raw control character or a lone surrogate throws ApiError 400 invalid_json naming
// its byte offset in the body.
class JsonStringLines {
 public:
  JsonStringLines(std::string_view escaped, std::size_t offset_in_body) : text_(escaped), offset_(offset_in_body) {}
  bool next(std::string_view& line);
  std::string all();  // the rest, decoded

 private:
  std::uint32_t hex4(std::size_t at) const;
  [[noreturn]] void fail(std::size_t at, const std::string& what) const;

  std::string_view text_;
  std::size_t offset_;
  std::size_t pos_ = 0;
  std::string line_;
  bool newline_ = false;  // the line last given ended with a decoded '\n'
};

// The same errors as parse_json_body(): 400 invalid_json naming the byte offset for an empty
// body, a syntax error, nesting past the depth limit, too many values or a number out of range
// (naming its field).
ImportBody parse_import_body(const std::string& body);

}  // namespace wb::daemon
