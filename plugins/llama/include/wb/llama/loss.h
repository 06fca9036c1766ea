// Losses and their gradients with respect to the model's outputs.
#pragma once

#include <cstdint>
#include <vector>

namespace wb::llama {

// Token cross-entropy averaged over masked-in tokens:
//   loss = sum_i mask_i * nll_i / sum_i mask_i,  nll_i = -log softmax(logits_i)[targets_i]
// targets [n]: the token row i should predict (< 0: none, never counted). mask [n]: weights in
// {0,1} (or any >= 0); empty = 1 for every row with a target. With nothing counted the loss is 0.
// dlogits [n, vocab] (nullable) is OVERWRITTEN with dloss/dlogits; it may be `logits` itself
// (the gradient replaces the logits in place, as the trainer does). n_counted (nullable) gets the
// number of masked-in tokens. Throws std::invalid_argument for a target >= vocab or size mismatch.
template <typename T>
T token_cross_entropy(const T* logits, int64_t n, int64_t vocab, const std::vector<int32_t>& targets,
                      const std::vector<T>& mask, T* dlogits, int64_t* n_counted = nullptr);

// Pairwise ranking loss (Llama 2 reward model), averaged over pairs:
//   loss = mean_p -log sigmoid(r_chosen_p - r_rejected_p - margin_p)
// margin may be null (0). d_chosen / d_rejected [n_pairs] (nullable) are OVERWRITTEN with
// dloss/dr. Computed with a stable softplus.
template <typename T>
T ranking_loss(const T* r_chosen, const T* r_rejected, const T* margin, int64_t n_pairs,
               T* d_chosen, T* d_rejected);

// Reward-centering penalty (Eisenstein et al. 2023, "Helping or Herding?"), averaged over pairs:
//   penalty = coef * mean_p (r_chosen_p + r_rejected_p)^2
// keeps rewards near zero without changing which response ranks higher. ADDS
// dpenalty/dr = 2 coef (r_c + r_r) / n_pairs into d_chosen / d_rejected (nullable), so it
// composes with ranking_loss's gradients. Returns the penalty.
template <typename T>
T reward_centering(const T* r_chosen, const T* r_rejected, int64_t n_pairs, double coef, T* d_chosen,
                   T* d_rejected);

}  // namespace wb::llama
