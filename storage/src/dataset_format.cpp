// Strict validation of dataset rows and their canonical JSONL text (see dataset_format.h).
#include "wb/storage/dataset_format.h"

#include <algorithm>

#include "json_fields.h"
#include "wb/json/field_path.h"
#include "wb/json/parse.h"
#include "wb/json/reader.h"
#include "wb/storage/error.h"

namespace wb::storage {

namespace {

using detail::quote;

std::string canonical_messages_row(JsonReader& r, const nlohmann::json& row) {
  const nlohmann::json& messages = row.at("messages");
  if (!messages.is_array()) r.fail("messages", "expected an array of messages, got " + describe_json(messages));
  if (messages.empty()) r.fail("messages", "must not be empty");
  std::string out = "{\"messages\":[";
  bool has_assistant = false, has_trained = false;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const std::string path = "messages[" + std::to_string(i) + "]";
    const nlohmann::json& m = messages[i];
    if (!m.is_object()) throw JsonFieldError(path, "expected an object {\"role\",\"content\"}, got " + describe_json(m));
    JsonReader mr(m, path + ".", NullIs::value);
    mr.allow_only({"role", "content", "weight"});
    const std::string& role = mr.one_of("role", {"system", "user", "assistant"});
    const std::string& content = mr.string("content");
    if (role == "system" && i != 0) mr.fail("role", "a system message may only come first");
    // "weight" as in OpenAI's chat fine-tuning format: 0 keeps an assistant message as context
    // only (no loss on its tokens), 1 (the default) trains on it.
    const std::optional<std::int64_t> weight = mr.optional_integer("weight", 0, 1);
    if (weight && role != "assistant") mr.fail("weight", "only assistant messages carry a weight");
    has_assistant = has_assistant || role == "assistant";
    has_trained = has_trained || (role == "assistant" && weight.value_or(1) == 1);
    if (i) out += ',';
    out += "{\"role\":";
    out += quote(role);
    out += ",\"content\":";
    out += quote(content);
    if (weight) out += ",\"weight\":" + std::to_string(*weight);
    out += '}';
  }
  if (!has_assistant) r.fail("messages", "needs at least one assistant message");
  if (!has_trained) r.fail("messages", "every assistant message has weight 0: nothing to train on");
  out += "]}";
  return out;
}

std::string canonical_sft(const nlohmann::json& row) {
  JsonReader r(row, "", NullIs::value);
  if (r.has("messages")) {
    r.allow_only({"messages"});
    return canonical_messages_row(r, row);
  }
  r.allow_only({"prompt", "completion"});
  const std::string& prompt = r.string("prompt");
  const std::string& completion = r.string("completion");
  return "{\"prompt\":" + quote(prompt) + ",\"completion\":" + quote(completion) + "}";
}

std::string canonical_preference(const nlohmann::json& row) {
  JsonReader r(row, "", NullIs::value);
  r.allow_only({"prompt", "chosen", "rejected", "rating", "safety", "is_safety_prompt"});
  std::string out = "{\"prompt\":" + quote(r.string("prompt"));
  out += ",\"chosen\":" + quote(r.string("chosen"));
  out += ",\"rejected\":" + quote(r.string("rejected"));
  if (auto rating = r.optional_integer("rating", 0, 3)) out += ",\"rating\":" + std::to_string(*rating);
  if (auto safety = r.optional_one_of("safety", {"both_safe", "chosen_safe", "both_unsafe"}))
    out += ",\"safety\":" + quote(*safety);
  if (auto flag = r.optional_boolean("is_safety_prompt"))
    out += std::string(",\"is_safety_prompt\":") + (*flag ? "true" : "false");
  out += '}';
  return out;
}

std::string canonical_prompt(const nlohmann::json& row) {
  JsonReader r(row, "", NullIs::value);
  r.allow_only({"prompt", "system", "is_safety_prompt"});
  std::string out = "{\"prompt\":" + quote(r.string("prompt"));
  if (auto system = r.optional_string("system")) out += ",\"system\":" + quote(*system);
  // Marks an adversarial prompt for labeling (wb label carries it into the comparison).
  if (auto flag = r.optional_boolean("is_safety_prompt"))
    out += std::string(",\"is_safety_prompt\":") + (*flag ? "true" : "false");
  out += '}';
  return out;
}

std::string canonical_text(const nlohmann::json& row) {
  JsonReader r(row, "", NullIs::value);
  r.allow_only({"text"});
  return "{\"text\":" + quote(r.string("text")) + "}";
}

std::string located(std::string_view unit, std::int64_t line, const std::string& what) {
  return std::string(unit) + " " + std::to_string(line) + ": " + what;
}

// nlohmann's message without its "[json.exception.parse_error.101] " tag; a single line is
// always line 1 to the parser, so "at line 1, column 5" becomes "at column 5".
std::string parser_message(const nlohmann::json::exception& e) {
  std::string msg = json_error_text(e);  // never quotes the line's bytes
  auto pos = msg.find("at line 1, column ");
  if (pos != std::string::npos) msg.replace(pos, std::string("at line 1, column ").size(), "at column ");
  return msg;
}

struct DuplicateKey {
  std::string key;
};

// Parses one line, refusing duplicate keys (nlohmann would silently keep the last one).
// `path` follows the parse, so a failure inside a value can name its field.
nlohmann::json parse_strict(std::string_view text, JsonFieldPath& path) {
  check_json_depth(text);  // dump/copy of a deeper value would recurse past the stack
  std::vector<std::vector<std::string>> keys;
  auto callback = [&keys, &path](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    path.on(event, parsed);
    if (event == E::object_start) {
      keys.emplace_back();
    } else if (event == E::key) {
      const auto& k = parsed.get_ref<const std::string&>();
      auto& seen = keys.back();
      if (std::find(seen.begin(), seen.end(), k) != seen.end()) throw DuplicateKey{k};
      seen.push_back(k);
    } else if (event == E::object_end) {
      keys.pop_back();
    }
    return true;
  };
  return nlohmann::json::parse(text.begin(), text.end(), callback);
}

}  // namespace

std::string canonical_row(DatasetKind kind, const nlohmann::json& row, std::int64_t line, std::string_view unit) {
  try {
    switch (kind) {
      case DatasetKind::Sft: return canonical_sft(row);
      case DatasetKind::Preference: return canonical_preference(row);
      case DatasetKind::Prompt: return canonical_prompt(row);
      case DatasetKind::Text: return canonical_text(row);
    }
    throw JsonFieldError("", "unknown dataset kind");
  } catch (const JsonFieldError& p) {
    throw InvalidDataset(located(unit, line, p.what()), line);
  } catch (const nlohmann::json::exception& e) {
    // Only a string that cannot be written back (invalid UTF-8 in a parsed-from-memory object).
    throw InvalidDataset(located(unit, line, std::string("invalid value: ") + parser_message(e)), line);
  }
}

std::string canonical_line(DatasetKind kind, std::string_view line, std::int64_t line_no) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos)
    throw InvalidDataset(located("line", line_no, "blank line"), line_no);
  nlohmann::json row;
  JsonFieldPath path;
  try {
    row = parse_strict(line, path);
  } catch (const JsonParseError& e) {  // nested past the limit: refused before nlohmann parses it
    throw InvalidDataset(located("line", line_no, e.what()), line_no);
  } catch (const DuplicateKey& d) {
    throw InvalidDataset(located("line", line_no, "field '" + d.key + "': duplicate key"), line_no);
  } catch (const nlohmann::json::out_of_range& e) {
    // A number beyond the double range ("number overflow parsing '1e400'"): name the field.
    const std::string field = path.text();
    throw InvalidDataset(located("line", line_no,
                                 (field.empty() ? std::string() : "field '" + field + "': ") +
                                     parser_message(e)),
                         line_no);
  } catch (const nlohmann::json::exception& e) {
    throw InvalidDataset(located("line", line_no, "invalid JSON: " + parser_message(e)), line_no);
  }
  return canonical_row(kind, row, line_no, "line");
}

std::vector<std::string> parse_text(std::string_view text, TextFormat format) {
  std::vector<std::string> rows;
  auto blank = [](std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; };
  if (format == TextFormat::Document) {
    if (blank(text)) throw InvalidDataset("line 1: no rows (the text is empty)", 1);
    rows.push_back(canonical_row(DatasetKind::Text, nlohmann::json{{"text", std::string(text)}}, 1, "line"));
    return rows;
  }
  std::int64_t line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t end = std::min(text.find('\n', pos), text.size());
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (blank(line)) continue;  // paragraphs apart: no document
    rows.push_back(canonical_row(DatasetKind::Text, nlohmann::json{{"text", std::string(line)}}, line_no, "line"));
  }
  if (rows.empty()) throw InvalidDataset("line 1: no rows (the text has no non-blank line)", 1);
  return rows;
}

std::vector<std::string> parse_jsonl(DatasetKind kind, std::string_view text) {
  if (text.empty()) throw InvalidDataset("line 1: no rows (the text is empty)", 1);
  std::vector<std::string> rows;
  rows.reserve(static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  std::size_t start = 0;
  std::int64_t line_no = 0;
  while (start < text.size()) {
    ++line_no;
    std::size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    rows.push_back(canonical_line(kind, text.substr(start, end - start), line_no));
    start = end + 1;
  }
  return rows;
}

Split split_for_index(std::int64_t index, double eval_fraction) {
  if (eval_fraction <= 0) return Split::Train;
  // splitmix64 (Steele, Lea, Flood 2014): a fixed, well-mixed hash of the index.
  std::uint64_t z = static_cast<std::uint64_t>(index) + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  double u = static_cast<double>(z >> 11) * 0x1.0p-53;  // uniform in [0, 1)
  return u < eval_fraction ? Split::Eval : Split::Train;
}

}  // namespace wb::storage
