// gatt_rows.h — Ghost Attention data (Llama 2 paper §3.3), row by row.
//
// A source dialogue is an sft row {"messages":[system, user, assistant?, user, ...]}: the system
// message is the instruction; assistant messages, if any, are ignored (they are resampled). For
// each turn the model is asked with the instruction concatenated to every user message
// (sampling_context); the training row then carries the instruction only as the system message
// of the first turn, the plain user messages and the sampled replies, every reply but the last
// with "weight": 0, so the loss falls on the last turn only and every token of earlier turns
// (their replies included) is masked (docs/STORAGE.md: the sft row's weight).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/chat_template.h"

namespace wb::rlhf {

struct GattDialogue {
  std::string instruction;          // the system message
  std::vector<std::string> users;   // the user messages, in order (at least one)
};

// Throws std::invalid_argument "row N: field 'messages...': ..." for a row that is not an sft
// messages row starting with a non-empty system message followed by at least one user message.
GattDialogue parse_gatt_dialogue(const nlohmann::json& row, int64_t index);

// The user message as sampled: the instruction, a blank line, the user's text.
std::string with_instruction(const std::string& instruction, const std::string& user);

// The messages that ask for reply number replies.size() (0-based): every user message with the
// instruction concatenated, the replies so far as assistant messages, ending with a user turn.
std::vector<llama::ChatMessage> sampling_context(const GattDialogue& d, const std::vector<std::string>& replies);

// The training row for the first replies.size() turns (>= 1): system = the instruction, plain
// user messages, the replies; every reply except the last has "weight": 0.
nlohmann::json gatt_training_row(const GattDialogue& d, const std::vector<std::string>& replies);

// The same dialogues without Ghost Attention (the baseline it is measured against): the reply is
// asked with the instruction only as the first turn's system message, and the training row keeps
// every reply's loss (no weight 0).
std::vector<llama::ChatMessage> plain_sampling_context(const GattDialogue& d, const std::vector<std::string>& replies);
nlohmann::json plain_training_row(const GattDialogue& d, const std::vector<std::string>& replies);

}  // namespace wb::rlhf
