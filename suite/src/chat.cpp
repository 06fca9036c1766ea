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

}  // namespace wb::suite
