// Softmax cross-entropy over the vocabulary, row by row, computed with the max-subtracted
// log-sum-exp so large logits do not overflow:
//   loss_i = logsumexp(logits_i) - logits_i[target_i]      (= -log softmax(logits_i)[target_i])
//   dlogits_i += dloss_i * (softmax(logits_i) - onehot(target_i))
// A target < 0 means "no target": loss_i = 0 and the row gets no gradient.
// Masking and the mean over masked-in tokens live in wb/llama/loss.h.
#pragma once

#include <cstdint>

namespace wb::kernels {

// losses[n] (per-token negative log-likelihood); targets[n] must be < vocab.
template <typename T>
void cross_entropy_forward(T* losses, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab);

// dlogits[n,vocab] += dloss[i] * (softmax - onehot). Rows with target < 0 are left untouched.
template <typename T>
void cross_entropy_backward(T* dlogits, const T* logits, const int32_t* targets, const T* dloss,
                            int64_t n, int64_t vocab);

// Row-wise softmax in place over x[n, d] (sampling, PPO probabilities).
template <typename T>
void softmax_forward(T* x, int64_t n, int64_t d);

// Row-wise log-softmax: out[n,d] = x - logsumexp(x).  out may equal x.
template <typename T>
void log_softmax_forward(T* out, const T* x, int64_t n, int64_t d);

}  // namespace wb::kernels
