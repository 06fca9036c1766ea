// DPO training data: preference rows -> tokenized (chosen, rejected) sequences -> packed
// micro-batches for dpo_forward_backward (dpo_model.h).
//
// A preference row is {"prompt","chosen","rejected"} (the preference dataset kind; other fields
// such as "rating" or "safety" are read elsewhere and ignored here). Each side is rendered with
// the Llama 2 chat template as the SFT model was trained (chat_template.h: BOS [INST] prompt
// [/INST] answer EOS) and only the answer tokens and their EOS count as the answer's log-prob.
//
//   auto ex = encode_dpo_pair(tok, parse_preference_text(row, i), max_len, i);
//   DpoBatch b = pack_dpo_batch({&ex0, &ex1});     // sequences chosen0, rejected0, chosen1, ...
//   auto order = dpo_draws(examples.size(), steps * batch, seed);   // epoch after epoch, reshuffled
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/batch.h"
#include "wb/llama/tokenizer.h"
#include "wb/rlhf/dpo_model.h"

namespace wb::rlhf {

struct PreferenceText {
  std::string prompt, chosen, rejected;
};

// Throws std::invalid_argument "row N: field 'F': expected a non-empty string" for a row without
// string prompt, chosen and rejected.
PreferenceText parse_preference_text(const nlohmann::json& row, int64_t index);

// One answer in context: the rendered tokens and, per token, whether it is an answer token.
struct AnswerSequence {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> answer;
};

struct DpoExample {
  AnswerSequence chosen, rejected;
  int64_t row = 0;  // the dataset row it came from
};

// Renders both sides, each cut to max_len tokens (answer tokens past the cut are lost).
// nullopt when a side keeps no answer token after the cut (nothing to compare).
std::optional<DpoExample> encode_dpo_pair(const llama::Tokenizer& tok, const PreferenceText& p, int64_t max_len,
                                          int64_t row);

// A packed micro-batch: sequence 2p is pair p's chosen side, 2p + 1 its rejected side; targets[i]
// is the next token and mask[i] is 1 where that next token is an answer token.
struct DpoBatch {
  llama::Batch batch;
  AnswerRows rows;
};

// Throws std::invalid_argument for an empty list.
DpoBatch pack_dpo_batch(const std::vector<const DpoExample*>& pairs);

// n indices into [0, pool): every index once in a seeded random order, then again reshuffled,
// and so on. Throws std::invalid_argument for an empty pool.
std::vector<size_t> dpo_draws(size_t pool, int64_t n, uint64_t seed);

}  // namespace wb::rlhf
