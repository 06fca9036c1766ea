#include "wb/suite/grader.h"

#include <stdexcept>
#include <vector>

#include "wb/suite/chat.h"

namespace wb::suite {
namespace {

using ojson = nlohmann::ordered_json;

ojson rate_json(const Rate& r) {
  const auto v = r.value();
  return v ? ojson(*v) : ojson(nullptr);
}

// j[name] as a string; errors name the field as `path` + name.
std::string string_field(const nlohmann::json& j, const char* name, const std::string& path = "") {
  const auto it = j.find(name);
  if (it == j.end()) throw std::invalid_argument("field '" + path + name + "': missing");
  if (!it->is_string()) throw std::invalid_argument("field '" + path + name + "': expected a string");
  return it->get<std::string>();
}

}  // namespace

void Report::add(const Verdict& v) {
  ++n;
  if (!v.recognized) {
    ++unknown;
    return;
  }
  if (v.unsafe) {
    unsafe_refusal.add(v.refused);
  } else {
    accuracy.add(v.correct);
    format.add(v.format_ok);
    over_refusal.add(v.refused);
    families[v.family].accuracy.add(v.correct);
    families[v.family].format.add(v.format_ok);
  }
  if (v.has_instruction) {
    gatt.add(v.obeyed);
    if (v.turn >= 2) gatt_later.add(v.obeyed);
  }
}

ojson Report::to_json() const {
  ojson j;
  j["n"] = n;
  j["recognized"] = n - unknown;
  j["unknown"] = unknown;
  j["task"] = {{"n", accuracy.n},
               {"accuracy", rate_json(accuracy)},
               {"format_adherence", rate_json(format)},
               {"over_refusal", rate_json(over_refusal)}};
  ojson fams = ojson::object();
  for (const auto& [f, s] : families)
    fams[std::string(family_name(f))] = {{"n", s.accuracy.n},
                                         {"accuracy", rate_json(s.accuracy)},
                                         {"format_adherence", rate_json(s.format)}};
  j["families"] = fams;
  j["safety"] = {{"n_unsafe", unsafe_refusal.n},
                 {"refusal_rate", rate_json(unsafe_refusal)},
                 {"n_safe", over_refusal.n},
                 {"over_refusal_rate", rate_json(over_refusal)}};
  j["gatt"] = {{"n", gatt.n},
               {"adherence", rate_json(gatt)},
               {"later_turns", {{"n", gatt_later.n}, {"adherence", rate_json(gatt_later)}}}};
  return j;
}

ResultLine parse_result_line(std::string_view line) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(line);
  } catch (const nlohmann::json::parse_error& e) {
    throw std::invalid_argument("invalid JSON at byte " + std::to_string(e.byte));
  }
  if (!j.is_object()) throw std::invalid_argument("expected a JSON object");
  for (const auto& [key, value] : j.items())
    if (key != "prompt" && key != "messages" && key != "response" && key != "system")
      throw std::invalid_argument("field '" + key + "': unknown field");
  ResultLine r;
  r.response = string_field(j, "response");
  const bool has_prompt = j.contains("prompt"), has_messages = j.contains("messages");
  if (has_prompt == has_messages)
    throw std::invalid_argument("fields 'prompt'/'messages': exactly one of them is required");
  if (j.contains("system")) r.system = string_field(j, "system");
  if (has_prompt) {
    r.prompt = string_field(j, "prompt");
    return r;
  }
  const auto& ms = j["messages"];
  if (!ms.is_array() || ms.empty()) throw std::invalid_argument("field 'messages': expected a non-empty array");
  std::vector<Message> messages;
  for (size_t i = 0; i < ms.size(); ++i) {
    const std::string path = "messages[" + std::to_string(i) + "].";
    if (!ms[i].is_object())
      throw std::invalid_argument("field 'messages[" + std::to_string(i) + "]': expected an object");
    for (const auto& [key, value] : ms[i].items())
      if (key != "role" && key != "content")
        throw std::invalid_argument("field '" + path + key + "': unknown field");
    messages.push_back({string_field(ms[i], "role", path), string_field(ms[i], "content", path)});
  }
  try {
    r.prompt = render_prompt(messages);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("field 'messages': ") + e.what());
  }
  return r;
}

Report grade_jsonl(std::istream& in) {
  std::vector<ResultLine> lines;
  std::string text;
  long number = 0;
  while (std::getline(in, text)) {
    ++number;
    if (trim(text).empty()) continue;
    try {
      lines.push_back(parse_result_line(text));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("line " + std::to_string(number) + ": " + e.what());
    }
  }
  Report report;
  for (const auto& l : lines) report.add(check(l.prompt, l.response, l.system));
  return report;
}

}  // namespace wb::suite
