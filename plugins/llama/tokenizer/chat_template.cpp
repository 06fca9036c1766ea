// Llama 2 chat rendering (Meta's llama/generation.py, chat_completion).
#include "wb/llama/chat_template.h"

#include <string_view>

namespace wb::llama {

namespace {

const std::string kBInst = "[INST]";
const std::string kEInst = "[/INST]";
const std::string kBSys = "<<SYS>>\n";
const std::string kESys = "\n<</SYS>>\n\n";

// Length of the whitespace character at the start of s (0 if none), using the set Python's
// str.isspace() accepts, so strip() matches Python's.
size_t space_at(std::string_view s) {
  if (s.empty()) return 0;
  const auto c = static_cast<unsigned char>(s[0]);
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return 1;
  static const std::string_view kMulti[] = {
      "\xC2\x85",     "\xC2\xA0",     "\xE1\x9A\x80", "\xE2\x80\x80", "\xE2\x80\x81",
      "\xE2\x80\x82", "\xE2\x80\x83", "\xE2\x80\x84", "\xE2\x80\x85", "\xE2\x80\x86",
      "\xE2\x80\x87", "\xE2\x80\x88", "\xE2\x80\x89", "\xE2\x80\x8A", "\xE2\x80\xA8",
      "\xE2\x80\xA9", "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80"};
  for (auto m : kMulti) {
    if (s.substr(0, m.size()) == m) return m.size();
  }
  return 0;
}

size_t space_before_end(std::string_view s) {
  for (size_t len : {size_t{1}, size_t{2}, size_t{3}}) {
    if (s.size() >= len && space_at(s.substr(s.size() - len)) == len) return len;
  }
  return 0;
}

std::string strip(std::string_view s) {
  while (size_t n = space_at(s)) s.remove_prefix(n);
  while (size_t n = space_before_end(s)) s.remove_suffix(n);
  return std::string(s);
}

struct Turn {
  std::string user;
  const std::string* assistant = nullptr;  // null for a final prompt
  bool train = true;                       // the assistant message's train flag
};

[[noreturn]] void fail(size_t index, const std::string& role, const std::string& what) {
  throw ChatTemplateError("message " + std::to_string(index) + " (role '" + role + "'): " + what);
}

// Validates the role sequence and folds the system message into the first user turn.
std::vector<Turn> to_turns(std::span<const ChatMessage> messages) {
  if (messages.empty()) throw ChatTemplateError("the dialog has no messages");
  size_t i = 0;
  std::string system;
  bool has_system = false;
  if (messages[0].role == "system") {
    has_system = true;
    system = messages[0].content;
    i = 1;
    if (messages.size() == 1) fail(0, "system", "a system message must be followed by a user message");
  }
  std::vector<Turn> turns;
  for (size_t k = i; k < messages.size(); ++k) {
    const ChatMessage& m = messages[k];
    const bool want_user = (k - i) % 2 == 0;
    const char* expected = want_user ? "user" : "assistant";
    if (m.role != "user" && m.role != "assistant" && m.role != "system") {
      fail(k, m.role, "unknown role; expected 'system', 'user' or 'assistant'");
    }
    if (m.role != expected) {
      fail(k, m.role,
           std::string("expected '") + expected +
               "' (roles must alternate user/assistant after an optional leading system)");
    }
    if (want_user) {
      std::string content = m.content;
      if (has_system && turns.empty()) content = kBSys + system + kESys + content;
      turns.push_back({std::move(content), nullptr});
    } else {
      turns.back().assistant = &m.content;
      turns.back().train = m.train;
    }
  }
  return turns;
}

std::string turn_text(const Turn& t) {
  std::string s = kBInst + " " + strip(t.user) + " " + kEInst;
  if (t.assistant != nullptr) s += " " + strip(*t.assistant) + " ";
  return s;
}

}  // namespace

ChatTokens render_llama2_chat(const Tokenizer& tok, std::span<const ChatMessage> messages,
                              AnswerMask mask_mode) {
  const std::vector<Turn> turns = to_turns(messages);
  size_t last_answered = turns.size();
  for (size_t k = 0; k < turns.size(); ++k) {
    if (turns[k].assistant != nullptr) last_answered = k;
  }

  ChatTokens out;
  std::vector<Tokenizer::Span> spans;
  for (size_t k = 0; k < turns.size(); ++k) {
    const Turn& t = turns[k];
    const std::string text = turn_text(t);
    const std::vector<int32_t> ids = tok.encode_with_offsets(text, spans);
    out.ids.push_back(tok.bos_id());
    out.mask.push_back(0);
    const bool answered = t.assistant != nullptr;
    const bool trained = answered && t.train && (mask_mode == AnswerMask::AllTurns || k == last_answered);
    // The answer's text starts right after "[/INST]"; a piece counts as answer when it reaches
    // past that point (which includes the "▁" joining [/INST] to the answer).
    const size_t answer_from = kBInst.size() + 1 + strip(t.user).size() + 1 + kEInst.size();
    if (k == 0 && messages[0].role == "system") {
      // The first turn's text is "[INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user} [/INST]...".
      const size_t sys_from = kBInst.size() + 1 + kBSys.size(), sys_to = sys_from + messages[0].content.size();
      for (size_t j = 0; j < ids.size(); ++j) {
        if (spans[j].end <= sys_from || spans[j].begin >= sys_to || spans[j].begin == spans[j].end) continue;
        const auto at = static_cast<int64_t>(out.ids.size() + j);
        if (out.system_end == 0) out.system_begin = at;
        out.system_end = at + 1;
      }
    }
    for (size_t j = 0; j < ids.size(); ++j) {
      out.ids.push_back(ids[j]);
      out.mask.push_back(trained && spans[j].end > answer_from ? 1 : 0);
    }
    if (answered) {
      out.ids.push_back(tok.eos_id());
      out.mask.push_back(trained ? 1 : 0);
    }
  }
  out.ends_with_prompt = turns.back().assistant == nullptr;
  return out;
}

std::string render_llama2_chat_text(std::span<const ChatMessage> messages) {
  std::string s;
  for (const Turn& t : to_turns(messages)) {
    s += "<s>" + turn_text(t);
    if (t.assistant != nullptr) s += "</s>";
  }
  return s;
}

}  // namespace wb::llama
