// preference_pairs.h — preference rows -> tokenized pairs -> ranking-loss micro-batches.
//
// A preference row is {"prompt","chosen","rejected"} + optional "rating" (0..3, how much better
// chosen is: negligibly/unsure, slightly, better, significantly), "safety" (both_safe |
// chosen_safe | both_unsafe) and "is_safety_prompt" (storage's dataset_format.h). Each side is
// encoded with encode_scored() (scoring.h), so training, evaluation and reward.score read text
// the same way.
//
// Margins (Llama 2 §3.2.2, the "small" set): m(rating) = margins[rating], default
// {0, 1/3, 2/3, 1} for ratings 0..3; a pair without a rating gets margin 0; all zeros disables.
//
// Mixing (the paper's safety RM mixed safety and helpfulness data): mix_draws() picks which pair
// of which pool each training slot uses — a pool with probability ratio_i / sum(ratios), and
// inside a pool every pair once (in a seeded random order) before any repeats.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/tokenizer.h"
#include "wb/llama/trainer.h"

namespace wb::reward {

using Margins = std::array<float, 4>;
inline constexpr Margins kPaperMargins = {0.0f, 1.0f / 3.0f, 2.0f / 3.0f, 1.0f};

struct PreferencePair {
  std::string prompt, chosen, rejected;
  int rating = -1;         // -1: not given
  std::string safety;      // "" when not given
  bool is_safety_prompt = false;
};

// Throws std::invalid_argument "row N: field 'F': ..." for a row that is not that shape.
PreferencePair parse_preference_row(const nlohmann::json& row, int64_t index);

struct EncodedPair {
  std::vector<int32_t> chosen, rejected;  // encode_scored() ids
  int rating = -1;
  std::string safety;
  bool is_safety_prompt = false;
  int64_t row = 0;  // the dataset row it came from
};

EncodedPair encode_pair(const llama::Tokenizer& tok, const PreferencePair& p, int64_t max_len, int64_t row);

// margins[rating], 0 without a rating.
float pair_margin(const EncodedPair& p, const Margins& margins);

// n draws of (pool, index in pool). Throws std::invalid_argument when sizes and ratios differ in
// length, a ratio is negative or not finite, or no pool with a positive ratio has pairs.
std::vector<std::pair<size_t, size_t>> mix_draws(const std::vector<size_t>& pool_sizes,
                                                 const std::vector<double>& ratios, int64_t n, uint64_t seed);

// One ranking micro-batch (trainer.h kRanking): chosen_0..chosen_{P-1} then rejected_0.., packed
// without padding, so each head reads its own sequence's last (EOS) row; margins per pair.
llama::TrainBatch pair_batch(const std::vector<const EncodedPair*>& pairs, const Margins& margins);

}  // namespace wb::reward
