// The PPO objective of Llama 2's RLHF stage (Touvron et al. 2023, section 3.2.3), in double, on
// plain numbers: what the engine-level code (ppo_model.h, ppo_step.h) feeds with log-probs,
// values and reward-model scores. Conventions follow TRL's PPOTrainer where the paper is silent.
//
// Reward of one response (tokens t = 0..L-1, the last one included, EOS when the model stopped):
//   R_c   = R_s  if the prompt is tagged unsafe or sigmoid(R_s) < safety_threshold (0.15), else R_h
//   LOGIT = log(p / (1 - p)) of p = sigmoid(R_c) clamped to [eps, 1 - eps]  (a clamped raw score)
//   R~_c  = WHITEN(LOGIT(R_c)) over the rollout batch
//   r_t   = -beta * (log pi(y_t) - log pi_ref(y_t))  +  [t = L-1] * R~_c
// Advantages by GAE over the response tokens with V(s_L) = 0:
//   delta_t = r_t + gamma V_{t+1} - V_t ;  A_t = delta_t + gamma lambda A_{t+1} ;  returns_t = A_t + V_t
// Losses are token-level means over every response token of a (mini-)batch:
//   ratio  = exp(log pi_new - log pi_old)
//   policy = mean max(-A ratio, -A clip(ratio, 1 - eps, 1 + eps))
//   value  = 0.5 mean max((V - R)^2, (V_old + clip(V - V_old, -eps_v, eps_v) - R)^2)
// Gradients are of these means w.r.t. the new log-probs / the new values.
#pragma once

#include <cstdint>
#include <vector>

#include "wb/rlhf/gated_reward.h"

namespace wb::rlhf {

// The combined-reward gate and the clamp of LOGIT.
struct RewardGateConfig {
  double safety_threshold = 0.15;  // sigmoid(R_s) below it: the safety score decides
  double logit_eps = 1e-4;         // p clamped to [eps, 1 - eps]: |LOGIT| <= log((1 - eps) / eps) = 9.21
  // Throws std::invalid_argument naming the field (threshold outside [0, 1], eps outside (0, 0.5)).
  void validate() const;
};

// R_c (gated_reward.h's gate, which also gives sigmoid) at the configured threshold. Throws
// std::invalid_argument for a non-finite score.
double gated_reward(double helpfulness, double safety, bool unsafe_prompt, const RewardGateConfig& gate);

// LOGIT(sigmoid(score)) with the probability clamped to [eps, 1 - eps]: the score itself, clamped
// to +-log((1 - eps) / eps).
double clamped_logit(double score, double eps);

// (x - mean) / sqrt(var + eps) with the population variance (divide by n). One value gives 0.
// Throws std::invalid_argument on an empty input.
struct Whitened {
  std::vector<double> values;
  double mean = 0;
  double std = 0;  // sqrt(population variance)
};
Whitened whiten(const std::vector<double>& x, double eps = 1e-8);

// Per-token rewards of one response: -beta * (logp - logp_ref) on every token, plus final_reward
// on the last. Throws std::invalid_argument for empty or mismatched inputs, or beta < 0.
std::vector<double> token_rewards(const std::vector<double>& logp, const std::vector<double>& logp_ref,
                                  double final_reward, double beta);

struct GaeResult {
  std::vector<double> advantages;
  std::vector<double> returns;  // advantages + values (the value targets)
};
// GAE over one response (V after the last token is 0). Throws std::invalid_argument for
// mismatched sizes or gamma / lambda outside [0, 1].
GaeResult gae(const std::vector<double>& rewards, const std::vector<double>& values, double gamma, double lambda);

// The clipped policy loss over flat per-token inputs (all responses of a mini-batch, in order).
struct PolicyLossResult {
  double loss = 0;
  double clip_fraction = 0;   // share of tokens where the clipped term is the larger (no gradient)
  double approx_kl = 0;       // 0.5 mean (log pi_new - log pi_old)^2 (TRL's approxkl)
  double ratio_mean = 0;
  std::vector<double> d_logp; // dloss / dlog pi_new per token
};
// Throws std::invalid_argument for an empty or mismatched input, clip <= 0 or a non-finite value.
PolicyLossResult clipped_policy_loss(const std::vector<double>& logp_new, const std::vector<double>& logp_old,
                                     const std::vector<double>& advantages, double clip);

struct ValueLossResult {
  double loss = 0;
  double clip_fraction = 0;     // share of tokens where the clipped term is the larger
  std::vector<double> d_values; // dloss / dV per token
};
// Throws as clipped_policy_loss does.
ValueLossResult clipped_value_loss(const std::vector<double>& values, const std::vector<double>& old_values,
                                   const std::vector<double>& returns, double clip);

// Entropy -sum p log p of softmax(logits / temperature) over n values. temperature > 0.
double softmax_entropy(const float* logits, int64_t n, double temperature);
double softmax_entropy(const double* logits, int64_t n, double temperature);

}  // namespace wb::rlhf
