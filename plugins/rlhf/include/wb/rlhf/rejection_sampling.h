// Rejection sampling (Llama 2, section 3.2.3): for each prompt K answers from the current policy
// (defaults K = 8, T = 1.2, what the paper found best for 10-100 samples), scored with the
// combined reward R_c (ppo_math.h's gate over the helpfulness and safety reward models), the best
// kept. Across rounds each prompt keeps the best answer of ALL rounds so far (the paper's fix for
// regressions between rounds); the kept answers are what the SFT pass of the round trains on.
//
//   RejectionSampler rs(base, helpfulness, safety, config);
//   RejectionRoundStats s = rs.round(&policy, prompts);   // sample, score, keep
//   rs.best()[p].response                                   // prompt p's kept answer
//
// Per round it reports the paper's Figure 7 curve: for N = 1..K, the max and the median reward
// of the first N samples of each prompt (in sampling order), averaged over the prompts; the gap
// between them is what rejection sampling can gain from N samples.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "wb/llama/model.h"
#include "wb/rlhf/ppo_math.h"
#include "wb/rlhf/rollout.h"

namespace wb::rlhf {

struct RejectionSamplingConfig {
  int64_t k = 8;                 // samples per prompt
  double temperature = 1.2;
  int64_t max_new_tokens = 64;
  uint64_t seed = 0;
  RewardGateConfig gate;
  // Throws std::invalid_argument naming the field (k < 1, temperature <= 0, max_new_tokens < 1).
  void validate() const;
};

struct KeptAnswer {
  std::vector<int32_t> response;  // empty until a round has run
  bool eos = false;
  Scores scores;                  // scores.combined is the reward it was kept for
  int64_t round = -1;             // the round that produced it (0-based)
};

struct RejectionRoundStats {
  int64_t round = 0;                    // 0-based
  std::vector<double> max_at_n;         // [K]: mean over prompts of max reward of samples 1..N
  std::vector<double> median_at_n;      // [K]: mean over prompts of median reward of samples 1..N
  double mean_kept = 0;                 // mean reward of the kept answers after this round
  int64_t replaced = 0;                 // prompts whose earlier kept answer this round beat
  double generation_seconds = 0;
  double scoring_seconds = 0;
};

// Max and median of the first N values for N = 1..size (the median of an even count is the mean of
// the two middle values). Throws std::invalid_argument on an empty input.
void best_of_n_curve(const std::vector<double>& rewards, std::vector<double>& max_at_n,
                     std::vector<double>& median_at_n);

class RejectionSampler {
 public:
  // base must outlive the sampler; reward models as in rollout.h (heads required).
  RejectionSampler(const llama::Model<float>& base, RewardModel helpfulness, RewardModel safety,
                   RejectionSamplingConfig config);

  // One round over `prompts` with `policy` (nullptr: the base alone). The prompt set must be the
  // same in every round (its size is checked). Throws std::invalid_argument for bad prompts;
  // nothing kept changes then.
  RejectionRoundStats round(const llama::LoraAdapter<float>* policy, const std::vector<Prompt>& prompts);

  // Where the rounds sample and score from now on (rollout.h; the default: the CPU engine).
  void set_device(const RolloutDevice& device) { device_ = device; }

  // Puts back what a checkpoint saved: the kept answers after `rounds` rounds. Throws
  // std::invalid_argument (nothing changed) for rounds < 0, or kept answers without rounds.
  void restore(std::vector<KeptAnswer> best, int64_t rounds);

  const std::vector<KeptAnswer>& best() const { return best_; }
  int64_t rounds() const { return rounds_; }

 private:
  const llama::Model<float>& base_;
  RewardModel helpfulness_, safety_;
  RejectionSamplingConfig config_;
  RolloutDevice device_;
  std::vector<KeptAnswer> best_;
  int64_t rounds_ = 0;
};

}  // namespace wb::rlhf
