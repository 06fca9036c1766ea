// Token cross-entropy with a mask, and the pairwise ranking loss.
#include "wb/llama/loss.h"

#include <cmath>
#include <stdexcept>
#include <string>

#include "wb/kernels/add.h"
#include "wb/kernels/xent.h"

namespace wb::llama {

template <typename T>
T token_cross_entropy(const T* logits, int64_t n, int64_t vocab,
                      const std::vector<int32_t>& targets, const std::vector<T>& mask,
                      T* dlogits, int64_t* n_counted) {
  if (static_cast<int64_t>(targets.size()) != n)
    throw std::invalid_argument("cross-entropy: " + std::to_string(targets.size()) +
                                " targets for " + std::to_string(n) + " rows");
  if (!mask.empty() && static_cast<int64_t>(mask.size()) != n)
    throw std::invalid_argument("cross-entropy: " + std::to_string(mask.size()) +
                                " mask entries for " + std::to_string(n) + " rows");
  // Rows that count: a target and a positive mask weight. Others get target -1 for the kernel.
  std::vector<int32_t> eff(n);
  std::vector<T> weight(n, T(0));
  double wsum = 0;
  int64_t counted = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (targets[i] >= vocab)
      throw std::invalid_argument("cross-entropy: target " + std::to_string(targets[i]) +
                                  " at row " + std::to_string(i) + " is outside the vocabulary");
    const T mw = mask.empty() ? T(1) : mask[i];
    if (mw < T(0)) throw std::invalid_argument("cross-entropy: negative mask weight at row " + std::to_string(i));
    const bool on = targets[i] >= 0 && mw > T(0);
    eff[i] = on ? targets[i] : -1;
    if (on) {
      weight[i] = mw;
      wsum += double(mw);
      ++counted;
    }
  }
  if (n_counted) *n_counted = counted;
  if (counted == 0) {
    if (dlogits) kernels::zero<T>(dlogits, n * vocab);
    return T(0);
  }
  // One fused pass set per row: loss and gradient (dlogits may be the logits themselves).
  std::vector<T> losses(n), dloss(n);
  for (int64_t i = 0; i < n; ++i) dloss[i] = static_cast<T>(double(weight[i]) / wsum);
  kernels::cross_entropy_fused<T>(losses.data(), dlogits, logits, eff.data(), dloss.data(), n, vocab);
  double total = 0;
  for (int64_t i = 0; i < n; ++i) total += double(weight[i]) * double(losses[i]);
  return static_cast<T>(total / wsum);
}

template <typename T>
T ranking_loss(const T* r_chosen, const T* r_rejected, const T* margin, int64_t n_pairs,
               T* d_chosen, T* d_rejected) {
  if (n_pairs <= 0) throw std::invalid_argument("ranking loss: no pairs");
  double total = 0;
  for (int64_t p = 0; p < n_pairs; ++p) {
    const double z = double(r_chosen[p]) - double(r_rejected[p]) - (margin ? double(margin[p]) : 0.0);
    // -log sigmoid(z) = softplus(-z), computed without overflow
    total += z > 0 ? std::log1p(std::exp(-z)) : -z + std::log1p(std::exp(z));
    // d/dz softplus(-z) = -sigmoid(-z)
    const double sig_neg = z > 0 ? std::exp(-z) / (1.0 + std::exp(-z)) : 1.0 / (1.0 + std::exp(z));
    const double g = -sig_neg / double(n_pairs);
    if (d_chosen) d_chosen[p] = static_cast<T>(g);
    if (d_rejected) d_rejected[p] = static_cast<T>(-g);
  }
  return static_cast<T>(total / double(n_pairs));
}

template <typename T>
T reward_centering(const T* r_chosen, const T* r_rejected, int64_t n_pairs, double coef, T* d_chosen,
                   T* d_rejected) {
  if (n_pairs <= 0) throw std::invalid_argument("reward centering: no pairs");
  double total = 0;
  for (int64_t p = 0; p < n_pairs; ++p) {
    const double s = double(r_chosen[p]) + double(r_rejected[p]);
    total += s * s;
    const double g = 2.0 * coef * s / double(n_pairs);
    if (d_chosen) d_chosen[p] += static_cast<T>(g);
    if (d_rejected) d_rejected[p] += static_cast<T>(g);
  }
  return static_cast<T>(coef * total / double(n_pairs));
}

template float token_cross_entropy<float>(const float*, int64_t, int64_t, const std::vector<int32_t>&, const std::vector<float>&, float*, int64_t*);
template double token_cross_entropy<double>(const double*, int64_t, int64_t, const std::vector<int32_t>&, const std::vector<double>&, double*, int64_t*);
template float ranking_loss<float>(const float*, const float*, const float*, int64_t, float*, float*);
template double ranking_loss<double>(const double*, const double*, const double*, int64_t, double*, double*);
template float reward_centering<float>(const float*, const float*, int64_t, double, float*, float*);
template double reward_centering<double>(const double*, const double*, int64_t, double, double*, double*);

}  // namespace wb::llama
