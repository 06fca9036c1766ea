// Softmax cross-entropy over the vocabulary, mirroring wb/kernels/xent.h:
//   loss_i = logsumexp(logits_i) - logits_i[target_i]
//   dlogits_i += dloss_i * (softmax(logits_i) - onehot(target_i))
// A target < 0 masks the row (prompt tokens, padding): its loss is 0 and it gets no gradient.
// One block per row; logits are read in T and reduced in fp32; losses and dloss are fp32.
// cross_entropy_backward_inplace is the llm.c form: the logits buffer is overwritten by its own
// gradient, so a [tokens, 32000] buffer is not needed twice.
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// losses[n] (fp32). logits [n, vocab].
template <typename T>
void cross_entropy_forward(Context& ctx, float* losses, const T* logits, const int32_t* targets,
                           int64_t n, int64_t vocab);

// dlogits[n, vocab] += dloss[i] * (softmax - onehot); masked rows untouched. No aliasing.
template <typename T>
void cross_entropy_backward(Context& ctx, T* dlogits, const T* logits, const int32_t* targets,
                            const float* dloss, int64_t n, int64_t vocab);

// logits[i,:] = dloss[i] * (softmax - onehot) in place; masked rows become 0.
template <typename T>
void cross_entropy_backward_inplace(Context& ctx, T* logits, const int32_t* targets,
                                    const float* dloss, int64_t n, int64_t vocab);

// softmax over rows in place: probs[n, vocab] (for sampling and for the tests).
template <typename T>
void softmax_rows(Context& ctx, T* x, int64_t n, int64_t vocab);

}  // namespace wb::cuda
