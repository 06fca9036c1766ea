// parse.h — parsing JSON text from outside (a request body, a dataset line, a file) with limits,
// so a hostile document cannot exhaust the stack or memory of the code that walks it later
// (nlohmann's dump, copy and compare recurse once per level of nesting).
//
//   nlohmann::json j = parse_json(body);             // JsonParseError with the byte offset
//   nlohmann::json k = parse_json(line, {.max_depth = 64});
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wb {

struct JsonLimits {
  int max_depth = 128;               // nested arrays/objects; the top-level value is depth 1
  int64_t max_values = 10'000'000;   // every value counted once (a key is not a value)
};

// The text is not JSON, or exceeds a limit. offset() is the 0-based byte offset of the problem
// (for a limit: where the value that crossed it starts); what() says what is wrong and where:
// "invalid JSON at byte offset 12: syntax error ..." or "JSON nested deeper than 128 levels at
// byte offset 4096".
class JsonParseError : public std::invalid_argument {
 public:
  JsonParseError(std::size_t offset, const std::string& message)
      : std::invalid_argument(message), offset_(offset) {}
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

// Throws JsonParseError when `text` nests arrays/objects deeper than `max_depth` (brackets inside
// strings do not count), naming the byte offset where it crosses the limit. For parsers of their
// own (a callback parse) that must refuse what parse_json refuses before nlohmann sees it.
void check_json_depth(std::string_view text, int max_depth = JsonLimits{}.max_depth);

// nlohmann's message for a parse error without its "[json.exception...] " tag and without the
// "; last read: '...'" tail, which quotes the input's bytes (a file that is not JSON at all — a
// private key, /etc/shadow — must never be echoed back through an error).
std::string json_error_text(const nlohmann::json::exception& e);

// Parses `text` (one JSON value, surrounded by whitespace only). Numbers outside the double range
// (1e400) are a syntax error here, as nlohmann reports them.
nlohmann::json parse_json(std::string_view text, const JsonLimits& limits = {});

}  // namespace wb
