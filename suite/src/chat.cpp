#include "wb/suite/chat.h"

#include <stdexcept>

#include "wb/suite/instruction.h"

namespace wb::suite {
namespace {

constexpr std::string_view kInst = "[INST]";
constexpr std::string_view kEndInst = "[/INST]";
constexpr std::string_view kSys = "<<SYS>>\n";
constexpr std::string_view kEndSys = "\n<</SYS>>\n\n";

}  // namespace

std::string render_prompt(const std::vector<Message>& messages) {
  size_t i = 0;
  std::string system;
  if (!messages.empty() && messages[0].role == "system") {
    system = std::string(trim(messages[0].content));
    i = 1;
  }
  const size_t offset = i;  // user turns sit at offset, offset + 2, ...
  if (i >= messages.size()) throw std::invalid_argument("messages: no user turn to render");
  std::string out;
  bool first = true;
  for (; i < messages.size(); ++i) {
    const Message& m = messages[i];
    const bool want_user = (i - offset) % 2 == 0;
    const std::string where = "message " + std::to_string(i);
    if (want_user && m.role != "user")
      throw std::invalid_argument(where + ": expected role 'user', got '" + m.role + "'");
    if (!want_user && m.role != "assistant")
      throw std::invalid_argument(where + ": expected role 'assistant', got '" + m.role + "'");
    if (want_user) {
      std::string user(trim(m.content));
      if (first && !system.empty())
        user = std::string(kSys) + system + std::string(kEndSys) + user;
      first = false;
      out += std::string(kInst) + " " + user + " " + std::string(kEndInst);
    } else {
      out += " " + std::string(trim(m.content)) + " ";
    }
  }
  if (messages.back().role != "user")
    throw std::invalid_argument("messages: the last message must be a user turn");
  return out;
}

ParsedPrompt parse_prompt(const std::string& text) {
  ParsedPrompt p;
  if (const size_t s = text.find(kSys); s != std::string::npos) {
    const size_t e = text.find("\n<</SYS>>", s + kSys.size());
    if (e != std::string::npos) p.system = std::string(trim(text.substr(s + kSys.size(), e - s - kSys.size())));
  }
  const size_t last = text.rfind(kInst);
  if (last == std::string::npos) {
    p.user = std::string(trim(text));
    return p;
  }
  int turns = 0;
  for (size_t at = text.find(kInst); at != std::string::npos; at = text.find(kInst, at + 1)) ++turns;
  p.turn = turns;
  const size_t begin = last + kInst.size();
  const size_t end = text.find(kEndInst, begin);
  std::string user = text.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
  if (const size_t e = user.find("<</SYS>>"); e != std::string::npos)
    user = user.substr(e + std::string_view("<</SYS>>").size());
  p.user = std::string(trim(user));
  return p;
}

std::vector<Message> messages_from_row(const nlohmann::json& row) {
  if (!row.is_object() || !row.contains("messages") || !row["messages"].is_array())
    throw std::invalid_argument("field 'messages': expected an array");
  std::vector<Message> out;
  const auto& ms = row["messages"];
  for (size_t i = 0; i < ms.size(); ++i) {
    const std::string path = "field 'messages[" + std::to_string(i) + "]";
    const auto& m = ms[i];
    if (!m.is_object()) throw std::invalid_argument(path + "': expected an object");
    if (!m.contains("role") || !m["role"].is_string())
      throw std::invalid_argument(path + ".role': expected a string");
    if (!m.contains("content") || !m["content"].is_string())
      throw std::invalid_argument(path + ".content': expected a string");
    out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  return out;
}

std::vector<GradedTurn> graded_turns(const std::vector<Message>& messages) {
  std::vector<GradedTurn> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (messages[i].role != "assistant") continue;
    GradedTurn t;
    t.context.assign(messages.begin(), messages.begin() + static_cast<std::ptrdiff_t>(i));
    t.prompt = render_prompt(t.context);
    t.reference = messages[i].content;
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace wb::suite
