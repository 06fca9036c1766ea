#include "wb/json/parse.h"

#include "wb/json/field_path.h"

namespace wb {
namespace {

// The byte offset where nesting first goes deeper than `max_depth`, or npos. Strings are skipped
// (brackets inside them do not count); the text need not be valid JSON (the parser judges that).
std::size_t too_deep_at(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string_view::npos;
}

}  // namespace

void check_json_depth(std::string_view text, int max_depth) {
  if (const std::size_t at = too_deep_at(text, max_depth); at != std::string_view::npos)
    throw JsonParseError(at, "JSON nested deeper than " + std::to_string(max_depth) + " levels at byte offset " +
                                 std::to_string(at));
}

std::string json_error_text(const nlohmann::json::exception& e) {
  std::string msg = e.what();
  if (!msg.empty() && msg.front() == '[') {
    if (const auto close = msg.find("] "); close != std::string::npos) msg.erase(0, close + 2);
  }
  if (const auto tail = msg.find("; last read:"); tail != std::string::npos) msg.erase(tail);
  return msg;
}

nlohmann::json parse_json(std::string_view text, const JsonLimits& limits) {
  check_json_depth(text, limits.max_depth);
  int64_t values = 0;
  bool too_many = false;
  JsonFieldPath path;
  // Counts values as they are parsed; returning false drops the value, and the flag ends the parse
  // with an error below (the callback must not throw through the parser).
  auto count = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    path.on(event, parsed);
    if (event == nlohmann::json::parse_event_t::value || event == nlohmann::json::parse_event_t::object_start ||
        event == nlohmann::json::parse_event_t::array_start) {
      if (++values > limits.max_values) too_many = true;
    }
    return !too_many;
  };
  try {
    nlohmann::json j = nlohmann::json::parse(text.begin(), text.end(), count);
    if (too_many)
      throw JsonParseError(text.size(), "JSON holds more than " + std::to_string(limits.max_values) + " values");
    return j;
  } catch (const nlohmann::json::out_of_range& e) {
    // A number beyond the double range ("number overflow parsing '1e400'"): name it and where.
    std::string number = e.what();
    const auto open = number.find('\''), close = number.rfind('\'');
    number = open != std::string::npos && close > open ? number.substr(open + 1, close - open - 1) : std::string();
    const std::size_t at = number.empty() ? 0 : text.find(number);
    const std::size_t off = at == std::string_view::npos ? 0 : at;
    const std::string field = path.text();
    throw JsonParseError(off, "invalid JSON at byte offset " + std::to_string(off) + ": " +
                                  (field.empty() ? std::string() : "field '" + field + "': ") +
                                  "number out of range: " + number);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the 1-based position of the offending character; report the 0-based offset.
    const std::size_t off = e.byte > 0 ? e.byte - 1 : 0;
    const std::string what = json_error_text(e);
    throw JsonParseError(off, "invalid JSON at byte offset " + std::to_string(off) + ": " + what);
  }
}

}  // namespace wb
