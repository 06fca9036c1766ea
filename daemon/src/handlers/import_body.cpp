#include "handlers/import_body.h"

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

}  // namespace

ImportBody parse_import_body(const std::string& body) {
  if (body.empty()) throw ApiError(400, "invalid_json", "request body is empty; expected a JSON object");
  ImportBody out;
  ImportSax sax(out);
  try {
    check_json_depth(body);
    if (!json::sax_parse(body, &sax) && sax.too_many())
      throw JsonParseError(body.size(), "JSON holds more than " + std::to_string(JsonLimits{}.max_values) + " values");
  } catch (const JsonParseError& e) {
    throw ApiError(400, "invalid_json", e.what());
  } catch (const json::out_of_range& e) {
    // A number beyond the double range ("number overflow parsing '1e400'"): name it and its field.
    std::string number = e.what();
    const auto open = number.find('\''), close = number.rfind('\'');
    number = open != std::string::npos && close > open ? number.substr(open + 1, close - open - 1) : std::string();
    const std::size_t at = number.empty() ? std::string::npos : body.find(number);
    const std::size_t off = at == std::string::npos ? 0 : at;
    throw ApiError(400, "invalid_json",
                   "invalid JSON at byte offset " + std::to_string(off) + ": " +
                       (sax.field().empty() ? std::string() : "field '" + sax.field() + "': ") +
                       "number out of range: " + number);
  } catch (const json::parse_error& e) {
    const std::size_t off = e.byte > 0 ? e.byte - 1 : 0;
    throw ApiError(400, "invalid_json", "invalid JSON at byte offset " + std::to_string(off) + ": " + json_error_text(e));
  }
  return out;
}

}  // namespace wb::daemon
