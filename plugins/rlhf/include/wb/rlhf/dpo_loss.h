// The DPO objective (Rafailov et al. 2023) on sequence log-probabilities, in double:
//   z    = beta * [(log pi(c) - log pi_ref(c)) - (log pi(r) - log pi_ref(r))]
//   loss = -log sigmoid(z)
// c is the chosen answer, r the rejected one; each log-prob is the sum over the answer's tokens.
// The gradient is taken w.r.t. the policy log-probs only (the reference is frozen):
//   dloss/dlog pi(c) = -beta * sigmoid(-z),  dloss/dlog pi(r) = +beta * sigmoid(-z).
// When the policy equals the reference both log ratios are 0, z = 0 and the loss is log 2.
#pragma once

#include <vector>

namespace wb::rlhf {

// Summed answer-token log-probs of one preference pair under the policy and the reference.
struct DpoPair {
  double policy_chosen = 0, policy_rejected = 0;
  double ref_chosen = 0, ref_rejected = 0;
};

struct DpoPairResult {
  double loss = 0;
  double chosen_log_ratio = 0;    // log pi(c) - log pi_ref(c)
  double rejected_log_ratio = 0;  // log pi(r) - log pi_ref(r)
  double margin = 0;              // z: beta * (chosen_log_ratio - rejected_log_ratio), the reward margin
  double d_policy_chosen = 0;     // dloss / dlog pi(c)
  double d_policy_rejected = 0;   // dloss / dlog pi(r)
};

// Throws std::invalid_argument when beta is negative or not finite, or a log-prob is not finite.
DpoPairResult dpo_pair(const DpoPair& p, double beta);

// The mean over a batch, with what a DPO job logs. Gradients are of the mean loss (each pair's
// gradient / n), in the order of `pairs`.
struct DpoBatchResult {
  double loss = 0;
  double margin = 0;              // mean z
  double accuracy = 0;            // share of pairs with z > 0 (chosen preferred over rejected)
  double chosen_log_ratio = 0;    // mean; with rejected_log_ratio, how far the policy moved from the reference
  double rejected_log_ratio = 0;
  std::vector<DpoPairResult> pairs;
};

// Throws std::invalid_argument on an empty batch, and as dpo_pair does.
DpoBatchResult dpo_batch(const std::vector<DpoPair>& pairs, double beta);

}  // namespace wb::rlhf
