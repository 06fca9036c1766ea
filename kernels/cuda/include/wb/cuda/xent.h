// Softmax cross-entropy over the vocabulary, fused forward + backward (llm.c style):
//   loss_i = logsumexp(logits_i) - logits_i[target_i]
//   dlogits_i = (softmax(logits_i) - onehot(target_i)) * grad_scale
// A target < 0 masks the row (prompt tokens, padding): its loss is 0 and its dlogits are 0.
// One block per row; logits are read in T and reduced in fp32.
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// losses[n] (fp32). logits [n, vocab].
template <typename T>
void cross_entropy_forward(Context& ctx, float* losses, const T* logits, const int32_t* targets,
                           int64_t n, int64_t vocab);

// dlogits[n, vocab] = (softmax - onehot) * grad_scale, written (not accumulated): may alias
// logits, so the logits buffer is reused for its own gradient.
template <typename T>
void cross_entropy_backward(Context& ctx, T* dlogits, const T* logits, const int32_t* targets,
                            int64_t n, int64_t vocab, float grad_scale);

// softmax over rows in place: probs[n, vocab] (for sampling and for the tests).
template <typename T>
void softmax_rows(Context& ctx, T* x, int64_t n, int64_t vocab);

}  // namespace wb::cuda
