// Softmax cross-entropy over the vocabulary, row by row, computed with the max-subtracted
// log-sum-exp so large logits do not overflow:
//   loss_i = logsumexp(logits_i) - logits_i[target_i]      (= -log softmax(logits_i)[target_i])
//   dlogits_i += dloss_i * (softmax(logits_i) - onehot(target_i))
// A target < 0 means "no target": loss_i = 0 and the row gets no gradient.
// Masking and the mean over masked-in tokens live in wb/llama/loss.h.
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

// Losses and dloss are accumulators (precision.h): fp32 for 16-bit logits, which the CUDA
// overloads read in T and reduce in fp32 (one block per row).

// losses[n] (per-token negative log-likelihood); targets[n] must be < vocab.
template <typename T>
void cross_entropy_forward(acc_t<T>* losses, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab);
template <typename T>
void cross_entropy_forward(acc_t<T>* losses, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab, cuda::Context& ctx);

// dlogits[n,vocab] += dloss[i] * (softmax - onehot). Rows with target < 0 are left untouched.
// dlogits and logits do not alias.
template <typename T>
void cross_entropy_backward(T* dlogits, const T* logits, const int32_t* targets,
                            const acc_t<T>* dloss, int64_t n, int64_t vocab);
template <typename T>
void cross_entropy_backward(T* dlogits, const T* logits, const int32_t* targets,
                            const acc_t<T>* dloss, int64_t n, int64_t vocab, cuda::Context& ctx);

// Loss and gradient together (the training step's form, CPU): losses[i] as cross_entropy_forward
// and dlogits[i,:] = dloss[i] * (softmax - onehot) ASSIGNED, rows with target < 0 set to 0.
// dlogits may equal logits (the gradient overwrites the logits in place) or be null (losses
// only). Each row is read twice and written once, with one exponential per element; float rows
// use a vectorised exp (relative error about 1e-7).
template <typename T>
void cross_entropy_fused(acc_t<T>* losses, T* dlogits, const T* logits, const int32_t* targets,
                         const acc_t<T>* dloss, int64_t n, int64_t vocab);

// Row-wise softmax in place over x[n, d] (sampling, PPO probabilities).
template <typename T>
void softmax_forward(T* x, int64_t n, int64_t d);
template <typename T>
void softmax_forward(T* x, int64_t n, int64_t d, cuda::Context& ctx);

// Row-wise log-softmax: out[n,d] = x - logsumexp(x).  out may equal x. (CPU: PPO log-probs.)
template <typename T>
void log_softmax_forward(T* out, const T* x, int64_t n, int64_t d);

// Per-row log-probability of the target at a temperature, and its gradient from a signed
// per-row coefficient (DPO's chosen and rejected answers, PPO's advantages): with
// p_i = softmax(inv_temp * logits_i),
//   logp_i      = log p_i[target_i]                     (0 when target_i < 0)
//   dlogits_i   = coef_i * inv_temp * (onehot(target_i) - p_i)   ASSIGNED; rows with target < 0
//                 become 0. coef_i may be negative. dlogits may equal logits (in place).
// logp, coef and inv_temp are accumulators (fp32 for 16-bit logits).
template <typename T>
void token_logprob_forward(acc_t<T>* logp, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab, acc_t<T> inv_temp);
template <typename T>
void token_logprob_forward(acc_t<T>* logp, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab, acc_t<T> inv_temp, cuda::Context& ctx);
template <typename T>
void token_logprob_backward(T* dlogits, const T* logits, const int32_t* targets,
                            const acc_t<T>* coef, int64_t n, int64_t vocab, acc_t<T> inv_temp);
template <typename T>
void token_logprob_backward(T* dlogits, const T* logits, const int32_t* targets,
                            const acc_t<T>* coef, int64_t n, int64_t vocab, acc_t<T> inv_temp,
                            cuda::Context& ctx);

// Per-row entropy of the temperature-scaled distribution, forward only (PPO's entropy metric):
// with z_i = inv_temp * logits_i and p_i = softmax(z_i),
//   ent_i = -sum_j p_ij log p_ij = logsumexp(z_i) - sum_j p_ij z_ij      (0 when target_i < 0)
// targets only mask rows (the rows that predict a response token); their values are not read.
template <typename T>
void token_entropy_forward(acc_t<T>* ent, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab, acc_t<T> inv_temp);
template <typename T>
void token_entropy_forward(acc_t<T>* ent, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab, acc_t<T> inv_temp, cuda::Context& ctx);

// ---- CUDA only ----------------------------------------------------------------------------
// The llm.c form of the backward: logits[i,:] = dloss[i] * (softmax - onehot) in place (masked
// rows become 0), so a [tokens, vocab] buffer is not needed twice on a memory-bound device. The
// CPU engine keeps logits and dlogits apart and has no use for it.
template <typename T>
void cross_entropy_backward_inplace(T* logits, const int32_t* targets, const acc_t<T>* dloss,
                                    int64_t n, int64_t vocab, cuda::Context& ctx);

}  // namespace wb::kernels
