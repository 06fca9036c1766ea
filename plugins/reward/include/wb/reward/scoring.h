// scoring.h — how a reward model reads a (prompt, response) and where its head lives on disk.
//
// A reward model here is a frozen base Llama + a LoRA adapter (PEFT layout) + a scalar head
// r = dot(w, h) + b read on the final normed hidden state h at the sequence's LAST REAL token
// (ARCHITECTURE.md §10: never a pad; sequences are packed, so the last row of each sequence).
//
// Text -> ids: the Llama 2 chat rendering of one finished turn (chat_template.h), the form the
// policy produced the response in:
//     BOS + encode("[INST] {prompt.strip()} [/INST] {response.strip()} ") + EOS
// so the head reads the EOS that closes the answer. A sequence longer than max_len keeps BOS and
// its last max_len - 1 tokens (the answer and its end matter most to the score).
//
// Head file: <adapter dir>/score.safetensors with "score.weight" [1, hidden] and "score.bias" [1]
// (the shape of TRL/PEFT's sequence-classification `score` layer; a [hidden] weight also loads).
//
//   auto ids = encode_scored(tok, "What is 2 + 3?", "Answer: 5", 256);
//   std::vector<float> r = score_sequences(base, &lora, head, {ids});
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/llama/tokenizer.h"

namespace wb::reward {

inline constexpr const char* kHeadFile = "score.safetensors";

// Throws std::invalid_argument when max_len < 2 or the chat template refuses the text.
std::vector<int32_t> encode_scored(const llama::Tokenizer& tok, const std::string& prompt,
                                   const std::string& response, int64_t max_len);

// Writes dir/score.safetensors (weight stored [1, D]).
void save_reward_head(const std::filesystem::path& dir, const llama::ScalarHead<float>& head);
// Reads dir/score.safetensors; the weight must hold `hidden` values ([1, D] or [D]). Throws
// std::runtime_error naming the file when it is missing or does not fit.
llama::ScalarHead<float> load_reward_head(const std::filesystem::path& dir, int64_t hidden);

// One score per sequence on the CPU: the engine's llama::score_head (wb/llama/head_scorer.h) —
// forward through `base` with `adapter` (nullptr: base alone; the model's own Model::lora is
// ignored), then the head at each sequence's last token. Sequences are run `max_seqs` at a time.
// Thread-safe for a const model (each call has its own workspace).
std::vector<float> score_sequences(const llama::Model<float>& base, const llama::LoraAdapter<float>* adapter,
                                   const llama::ScalarHead<float>& head,
                                   const std::vector<std::vector<int32_t>>& seqs, int64_t max_seqs = 32);

// One score per sequence, in order: a reward model bound to where it runs — score_sequences on
// the CPU (cpu_scorer) or the engine's GPU scorer (wb/llama/head_scorer.h). What pair
// evaluation (pair_eval.h) and, later, RLHF take, so they need not know the device.
using SequenceScorer = std::function<std::vector<float>(const std::vector<std::vector<int32_t>>&)>;
// score_sequences over these; base, adapter and head must outlive the returned function.
SequenceScorer cpu_scorer(const llama::Model<float>& base, const llama::LoraAdapter<float>* adapter,
                          const llama::ScalarHead<float>& head, int64_t max_seqs = 32);

}  // namespace wb::reward
