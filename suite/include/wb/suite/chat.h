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

#include <nlohmann/json.hpp>

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

// The messages of an sft-shaped row {"messages":[{"role","content"}...]}. Throws
// std::invalid_argument naming the field when the row is not that shape.
std::vector<Message> messages_from_row(const nlohmann::json& row);

// One assistant turn of a conversation, as an evaluation sees it: the messages before it
// (ending with its user turn; what a chat endpoint is sent), the same rendered as text (what
// check() is given as the prompt), and the reference reply.
struct GradedTurn {
  std::vector<Message> context;
  std::string prompt;
  std::string reference;
};

// Every assistant turn of a conversation (e.g. a gatt_eval.jsonl dialogue), in order; earlier
// turns keep their reference replies (teacher forcing).
std::vector<GradedTurn> graded_turns(const std::vector<Message>& messages);

}  // namespace wb::suite
