#include "handlers/import_body.h"

#include <optional>
#include <utility>

#include "http/api_error.h"
#include "wb/json/parse.h"

namespace wb::daemon {

namespace {

using nlohmann::json;

// nlohmann SAX events: keeps the top-level members, steals the top-level "jsonl" string.
class ImportSax {
 public:
  explicit ImportSax(ImportBody& out) : out_(out) {}

  bool null() { return value(json(nullptr)); }
  bool boolean(bool b) { return value(json(b)); }
  bool number_integer(json::number_integer_t v) { return value(json(v)); }
  bool number_unsigned(json::number_unsigned_t v) { return value(json(v)); }
  bool number_float(json::number_float_t v, const json::string_t&) { return value(json(v)); }
  bool binary(json::binary_t&) { return value(json(nullptr)); }  // never produced by JSON text
  bool string(json::string_t& s) {
    if (depth_ == 1 && top_object_ && key_ == "jsonl") {
      out_.jsonl = std::move(s);  // the parser's buffer: the one decoded copy of the text
      s = json::string_t();
      return value(json(""));
    }
    return value(depth_ <= 1 ? json(s) : json());
  }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool key(json::string_t& k) {
    if (depth_ == 1) key_ = k;
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    throw ex;
  }

  bool too_many() const { return too_many_; }
  const std::string& field() const { return key_; }

 private:
  bool count() {
    if (++values_ > JsonLimits{}.max_values) too_many_ = true;
    return !too_many_;
  }
  bool value(json v) {
    if (depth_ == 0) out_.fields = std::move(v);
    else if (depth_ == 1 && top_object_) out_.fields[key_] = std::move(v);
    return count();
  }
  bool open(json placeholder) {
    if (depth_ == 0) top_object_ = placeholder.is_object();
    const bool ok = value(std::move(placeholder));
    ++depth_;
    return ok;
  }
  bool close() {
    --depth_;
    return true;
  }

  ImportBody& out_;
  int depth_ = 0;
  bool top_object_ = false;
  std::string key_;
  std::int64_t values_ = 0;
  bool too_many_ = false;
};

// Parses `text` (the body, or the body with the "jsonl" string emptied) with ImportSax into `out`.
// `to_body` maps an offset in `text` back to the body's, for error messages.
template <class ToBody>
void parse_with_sax(std::string_view text, ImportBody& out, ToBody to_body) {
  ImportSax sax(out);
  try {
    check_json_depth(text);
    if (!json::sax_parse(text, &sax) && sax.too_many())
      throw JsonParseError(text.size(), "JSON holds more than " + std::to_string(JsonLimits{}.max_values) + " values");
  } catch (const JsonParseError& e) {
    throw ApiError(400, "invalid_json", e.what());
  } catch (const json::out_of_range& e) {
    // A number beyond the double range ("number overflow parsing '1e400'"): name it and its field.
    std::string number = e.what();
    const auto open = number.find('\''), close = number.rfind('\'');
    number = open != std::string::npos && close > open ? number.substr(open + 1, close - open - 1) : std::string();
    const std::size_t at = number.empty() ? std::string::npos : text.find(number);
    const std::size_t off = at == std::string::npos ? 0 : to_body(at);
    throw ApiError(400, "invalid_json",
                   "invalid JSON at byte offset " + std::to_string(off) + ": " +
                       (sax.field().empty() ? std::string() : "field '" + sax.field() + "': ") +
                       "number out of range: " + number);
  } catch (const json::parse_error& e) {
    const std::size_t off = to_body(e.byte > 0 ? e.byte - 1 : 0);
    throw ApiError(400, "invalid_json", "invalid JSON at byte offset " + std::to_string(off) + ": " + json_error_text(e));
  }
}

// Skips blanks from `i`.
std::size_t skip_ws(std::string_view b, std::size_t i) {
  while (i < b.size() && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')) ++i;
  return i;
}

// From the opening quote at `i`: the index of the closing quote, or npos.
std::size_t string_end(std::string_view b, std::size_t i) {
  for (++i; i < b.size(); ++i) {
    if (b[i] == '\\') ++i;
    else if (b[i] == '"') return i;
  }
  return std::string_view::npos;
}

// From the first character of a value at `i`: the index just past it, or npos. Only finds the end;
// whether the value is valid JSON is for the parser to say.
std::size_t value_end(std::string_view b, std::size_t i) {
  if (i >= b.size()) return std::string_view::npos;
  if (b[i] == '"') {
    const std::size_t e = string_end(b, i);
    return e == std::string_view::npos ? e : e + 1;
  }
  if (b[i] == '{' || b[i] == '[') {
    int depth = 0;
    for (; i < b.size(); ++i) {
      if (b[i] == '"') {
        i = string_end(b, i);
        if (i == std::string_view::npos) return i;
      } else if (b[i] == '{' || b[i] == '[') {
        ++depth;
      } else if (b[i] == '}' || b[i] == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return std::string_view::npos;
  }
  while (i < b.size() && b[i] != ',' && b[i] != '}' && b[i] != ']' && b[i] != ' ' && b[i] != '\t' && b[i] != '\n' &&
         b[i] != '\r')
    ++i;
  return i;
}

// The quotes of the top-level member "jsonl" (the last one, as the parser keeps the last), when
// its key is written without escapes and its value is a string: [open quote, close quote].
std::optional<std::pair<std::size_t, std::size_t>> find_jsonl(std::string_view b) {
  std::optional<std::pair<std::size_t, std::size_t>> found;
  std::size_t i = skip_ws(b, 0);
  if (i >= b.size() || b[i] != '{') return std::nullopt;
  i = skip_ws(b, i + 1);
  if (i < b.size() && b[i] == '}') return std::nullopt;
  for (;;) {
    if (i >= b.size() || b[i] != '"') return std::nullopt;
    const std::size_t key_end = string_end(b, i);
    if (key_end == std::string_view::npos) return std::nullopt;
    const std::string_view key = b.substr(i + 1, key_end - i - 1);
    i = skip_ws(b, key_end + 1);
    if (i >= b.size() || b[i] != ':') return std::nullopt;
    i = skip_ws(b, i + 1);
    const std::size_t end = value_end(b, i);
    if (end == std::string_view::npos) return std::nullopt;
    if (key == "jsonl" && b[i] == '"') found = std::make_pair(i, end - 1);
    i = skip_ws(b, end);
    if (i < b.size() && b[i] == ',') {
      i = skip_ws(b, i + 1);
      continue;
    }
    if (i < b.size() && b[i] == '}') return found;
    return std::nullopt;
  }
}

}  // namespace

ImportBody parse_import_body(const std::string& body) {
  if (body.empty()) throw ApiError(400, "invalid_json", "request body is empty; expected a JSON object");
  ImportBody out;
  if (auto q = find_jsonl(body)) {
    // Parse the body with the string emptied (a small copy), and keep the string where it is.
    const std::size_t open = q->first, close = q->second;  // not a structured binding: lambdas capture it
    std::string rest;
    rest.reserve(body.size() - (close - open - 1));
    rest.append(body, 0, open + 1).append(body, close, std::string::npos);
    const std::size_t removed = close - open - 1;
    parse_with_sax(rest, out, [&](std::size_t off) { return off > open ? off + removed : off; });
    out.raw = true;
    out.escaped = std::string_view(body).substr(open + 1, removed);
    out.escaped_offset = open + 1;
    return out;
  }
  parse_with_sax(body, out, [](std::size_t off) { return off; });
  return out;
}

void JsonStringLines::fail(std::size_t at, const std::string& what) const {
  throw ApiError(400, "invalid_json",
                 "invalid JSON at byte offset " + std::to_string(offset_ + at) + ": field 'jsonl': " + what);
}

std::uint32_t JsonStringLines::hex4(std::size_t at) const {
  if (at + 4 > text_.size()) fail(at, "incomplete \\u escape");
  std::uint32_t v = 0;
  for (std::size_t k = at; k < at + 4; ++k) {
    const char c = text_[k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= static_cast<std::uint32_t>(c - '0');
    else if (c >= 'a' && c <= 'f') v |= static_cast<std::uint32_t>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= static_cast<std::uint32_t>(c - 'A' + 10);
    else fail(k, "bad \\u escape");
  }
  return v;
}

bool JsonStringLines::next(std::string_view& line) {
  if (pos_ >= text_.size()) return false;
  line_.clear();
  while (pos_ < text_.size()) {
    const char c = text_[pos_];
    if (static_cast<unsigned char>(c) < 0x20) fail(pos_, "control character in a string (escape it)");
    if (c != '\\') {
      // Copy the run up to the next escape or control character at once.
      std::size_t end = pos_ + 1;
      while (end < text_.size() && text_[end] != '\\' && static_cast<unsigned char>(text_[end]) >= 0x20) ++end;
      line_.append(text_, pos_, end - pos_);
      pos_ = end;
      continue;
    }
    if (pos_ + 1 >= text_.size()) fail(pos_, "incomplete escape");
    const char e = text_[pos_ + 1];
    pos_ += 2;
    switch (e) {
      case 'n':
        line = line_;
        newline_ = true;
        return true;
      case '"': line_ += '"'; break;
      case '\\': line_ += '\\'; break;
      case '/': line_ += '/'; break;
      case 'b': line_ += '\b'; break;
      case 'f': line_ += '\f'; break;
      case 'r': line_ += '\r'; break;
      case 't': line_ += '\t'; break;
      case 'u': {
        std::uint32_t cp = hex4(pos_);
        pos_ += 4;
        if (cp >= 0xDC00 && cp <= 0xDFFF) fail(pos_ - 6, "lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (pos_ + 2 > text_.size() || text_[pos_] != '\\' || text_[pos_ + 1] != 'u')
            fail(pos_ - 6, "high surrogate without its low half");
          const std::uint32_t lo = hex4(pos_ + 2);
          if (lo < 0xDC00 || lo > 0xDFFF) fail(pos_, "high surrogate without its low half");
          pos_ += 6;
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        if (cp < 0x80) {
          line_ += static_cast<char>(cp);
        } else if (cp < 0x800) {
          line_ += static_cast<char>(0xC0 | (cp >> 6));
          line_ += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
          line_ += static_cast<char>(0xE0 | (cp >> 12));
          line_ += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          line_ += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
          line_ += static_cast<char>(0xF0 | (cp >> 18));
          line_ += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
          line_ += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
          line_ += static_cast<char>(0x80 | (cp & 0x3F));
        }
        break;
      }
      default: fail(pos_ - 2, "bad escape");
    }
  }
  line = line_;
  newline_ = false;
  return true;
}

std::string JsonStringLines::all() {
  std::string out;
  std::string_view line;
  bool first = true;
  while (next(line)) {
    if (!first) out += '\n';
    out.append(line);
    first = false;
  }
  if (newline_) out += '\n';  // a final decoded '\n' ended the last line without starting another
  return out;
}

}  // namespace wb::daemon
