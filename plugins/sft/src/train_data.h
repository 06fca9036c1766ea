// train_data.h — turning dataset rows into the engine's training micro-batches.
//
// An Example is one tokenized training sequence with a loss weight per token: pretraining text is
// BOS + text + EOS with every token weighted; an SFT conversation is rendered with the Llama 2
// chat template (chat_template.h) and weighted on assistant answer tokens (and their EOS) only,
// except assistant messages with "weight": 0, which stay unweighted context.
// pack() groups examples into micro-batches of at most batch_size * context_length tokens; each
// example stays its own sequence in the packed Batch (cu_seqlens), so attention never crosses
// from one example into another and positions restart at 0 for each.
//
//   auto ex = sft_examples(tok, rows, ctx);          // or text_examples(tok, texts, ctx)
//   auto batches = pack(ex, batch_size, ctx, seed);  // shuffled by seed, deterministic
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/tokenizer.h"
#include "wb/llama/trainer.h"

namespace wb::sft {

struct Example {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> weight;  // weight[i]: whether tokens[i] is a loss target (i >= 1)
};

// Pretraining text: BOS + encode(text) + EOS, cut into pieces of at most context_length tokens
// (a long text becomes several examples). Empty texts are skipped.
std::vector<Example> text_examples(const llama::Tokenizer& tok, const std::vector<std::string>& texts,
                                   int64_t context_length);

// The text of a pretraining row: a prompt-kind row's "prompt" (the storage layer has no text
// kind). Throws std::invalid_argument naming the row index when it has no string "prompt".
std::string row_text(const nlohmann::json& row, int64_t index);

// SFT conversations: sft rows {"messages":[...]} or {"prompt","completion"}. A conversation
// longer than context_length is truncated (its answer tokens past the cut are lost; counted in
// *truncated when given). Throws std::invalid_argument "row N: ..." for a row the chat template
// refuses.
std::vector<Example> sft_examples(const llama::Tokenizer& tok, const std::vector<nlohmann::json>& rows,
                                  const std::vector<int64_t>& indices, int64_t context_length,
                                  int64_t* truncated = nullptr);

// Packs examples (in an order shuffled by seed; seed 0 keeps the given order... any seed is
// deterministic) into micro-batches of at most max_tokens = batch_size * context_length tokens.
// targets[i] = tokens[i+1] inside each example (-1 on its last row), mask[i] = weight[i+1].
// Examples with no weighted target are dropped. Throws std::invalid_argument when nothing is left.
std::vector<llama::TrainBatch> pack(const std::vector<Example>& examples, int64_t batch_size,
                                    int64_t context_length, uint64_t seed, bool shuffle = true);

// Number of weighted target tokens in a micro-batch.
int64_t target_count(const llama::TrainBatch& b);

}  // namespace wb::sft
