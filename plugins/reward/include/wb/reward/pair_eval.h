// pair_eval.h — held-out accuracy of a reward model on preference pairs, overall, per rating
// level (Llama 2 Table 8) and per safety label.
//
// A pair counts as correct when r(chosen) > r(rejected) strictly (a tie is wrong). The loss is
// the training objective's ranking part, mean -log sigmoid(r_c - r_r - m(rating)) (no centering
// term), so eval_loss and train_loss are comparable.
//
//   PairAccuracy acc = evaluate_pairs(base, &lora, head, pairs, kPaperMargins);
//   acc.all.value();  acc.by_rating[3].value();  acc.by_safety["chosen_safe"].value();
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/reward/preference_pairs.h"
#include "wb/reward/scoring.h"

namespace wb::reward {

struct Rate {
  int64_t n = 0, correct = 0;
  std::optional<double> value() const {
    return n ? std::optional<double>(static_cast<double>(correct) / static_cast<double>(n)) : std::nullopt;
  }
  void add(bool ok) {
    ++n;
    correct += ok ? 1 : 0;
  }
};

struct PairAccuracy {
  Rate all;
  std::array<Rate, 4> by_rating;        // pairs with that rating
  std::map<std::string, Rate> by_safety;  // pairs with that safety label
  Rate safety_prompts;                  // is_safety_prompt == true
  double loss_sum = 0;

  void add(const EncodedPair& p, double r_chosen, double r_rejected, float margin);
  std::optional<double> loss() const;
  // {"n","accuracy","loss","by_rating":{"0":{"n","accuracy"},..},"by_safety":{label:{..}},
  //  "safety_prompts":{"n","accuracy"}}; accuracies null when nothing was counted.
  nlohmann::json to_json() const;
};

struct PairScores {
  std::vector<float> chosen, rejected;
};

// Scores both sides of every pair with `score` (every chosen side, then every rejected side, in
// one call): the CPU's cpu_scorer or the engine's GPU scorer (scoring.h SequenceScorer).
PairScores score_pairs(const SequenceScorer& score, const std::vector<EncodedPair>& pairs);
// The same on the CPU (scoring.h score_sequences).
PairScores score_pairs(const llama::Model<float>& base, const llama::LoraAdapter<float>* adapter,
                       const llama::ScalarHead<float>& head, const std::vector<EncodedPair>& pairs,
                       int64_t max_seqs = 32);

PairAccuracy accuracy_of(const std::vector<EncodedPair>& pairs, const PairScores& scores, const Margins& margins);

}  // namespace wb::reward
