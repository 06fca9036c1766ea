// Chat messages and their Llama 2 text rendering, as the checker reads them.
//
// A multi-turn prompt travels as text in Meta's layout without the BOS/EOS ids:
//
//   [INST] <<SYS>>\n{system}\n<</SYS>>\n\n{user 1} [/INST] {assistant 1} [INST] {user 2} [/INST]
//
// render_prompt() writes it; parse_prompt() reads the system message, the last user turn and
// the turn number back from such text (or from a plain user message, which is turn 1 with no
// system message). Literal "<s>"/"</s>" text between turns is tolerated.
#pragma once

#include <string>
#include <vector>

namespace wb::suite {

struct Message {
  std::string role;  // "system" | "user" | "assistant"
  std::string content;
};

// Renders messages that alternate user/assistant (after an optional leading system message)
// and end with a user turn. Throws std::invalid_argument naming the offending message otherwise.
std::string render_prompt(const std::vector<Message>& messages);

struct ParsedPrompt {
  std::string system;  // empty when there is none
  std::string user;    // the last user turn, trimmed, without the <<SYS>> block
  int turn = 1;        // 1-based index of that user turn
};

ParsedPrompt parse_prompt(const std::string& text);

}  // namespace wb::suite
