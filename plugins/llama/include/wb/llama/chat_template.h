// Llama 2 chat rendering, exactly as Meta's llama/generation.py (chat_completion) does it:
//
//   [system]? user assistant user assistant ... [user]
//
// - a leading system message is folded into the first user message:
//   "<<SYS>>\n{system}\n<</SYS>>\n\n{user}"
// - each finished (user, assistant) pair: BOS + encode("[INST] {user.strip()} [/INST] {assistant.strip()} ") + EOS
// - a final user turn (a prompt awaiting an answer): BOS + encode("[INST] {user.strip()} [/INST]")
// The markers are plain text (never special ids); only BOS/EOS are ids. Text a user types that
// spells "</s>" stays text. strip() removes ASCII whitespace (" \t\n\r\f\v") at both ends, as
// Python's str.strip() does for that text.
//
// For training, mask[i] is 1 exactly on the assistant answer tokens and the EOS closing each
// answer, so SFT puts loss on answers only. AnswerMask::LastTurnOnly keeps 1 only on the last
// assistant turn (Ghost Attention trains on the final turn and zeroes earlier ones). An
// assistant message with train == false is never trained on.
#pragma once

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "wb/llama/tokenizer.h"

namespace wb::llama {

class ChatTemplateError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct ChatMessage {
  std::string role;     // "system" | "user" | "assistant"
  std::string content;
  // Assistant messages only: false keeps the answer as context with mask 0 (a dataset row's
  // "weight": 0), whatever the AnswerMask.
  bool train = true;
};

enum class AnswerMask { AllTurns, LastTurnOnly };

struct ChatTokens {
  std::vector<int32_t> ids;
  std::vector<uint8_t> mask;  // same length as ids
  // True when the dialog ends with a user turn (ids end with "[/INST]", ready for generation).
  bool ends_with_prompt = false;
  // The ids covering the system message's text (the first turn's pieces that overlap it, the
  // "<<SYS>>" markers excluded): [system_begin, system_end); both 0 without a system message.
  int64_t system_begin = 0, system_end = 0;
};

// Renders `messages`. Roles must be an optional leading "system", then alternate "user",
// "assistant", ... starting with "user"; anything else throws ChatTemplateError naming the
// offending message index and role (also for an empty dialog or a system-only dialog).
ChatTokens render_llama2_chat(const Tokenizer& tok, std::span<const ChatMessage> messages,
                              AnswerMask mask = AnswerMask::AllTurns);

// The text Meta's template produces for `messages` (markers included, BOS/EOS spelled "<s>"
// and "</s>"), for logs and debugging only — encoding it is NOT the same as render_llama2_chat.
std::string render_llama2_chat_text(std::span<const ChatMessage> messages);

// The Jinja chat template of Hugging Face's meta-llama/Llama-2-7b-chat-hf tokenizer_config.json,
// character for character (each \n in it is the two characters backslash and n: an escape inside a
// Jinja string literal). It
// renders what render_llama2_chat does; exports write it as HF "chat_template" and GGUF
// "tokenizer.chat_template" so transformers, vLLM, Ollama and llama.cpp format chats the same way.
inline constexpr const char* kLlama2ChatTemplateJinja =
    R"JINJA({% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\n' + system_message + '\n<</SYS>>\n\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %})JINJA";

}  // namespace wb::llama
