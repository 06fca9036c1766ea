// Token choice on device, one block per row of logits [n, vocab], with the same rules as
// wb/llama/sampler.h: greedy = argmax with the lowest id on ties; otherwise temperature, then
// top-k (keep the k largest; ties at the k-th value are all kept), then top-p (keep the smallest
// set of largest probabilities whose mass reaches p), then one draw from the kept tokens in
// id order using a uniform number u[i] in [0,1) supplied by the host (so each request's own RNG
// decides, whatever else is in the batch).
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// out[n] = argmax of each row.
template <typename T>
void argmax_rows(Context& ctx, int32_t* out, const T* logits, int64_t n, int64_t vocab);

struct DeviceSampling {
  float temperature = 1.0f;  // <= 0: greedy
  int32_t top_k = 0;         // 0: no limit
  float top_p = 1.0f;        // (0, 1]
};

// out[n] token ids; params[n] and u[n] per row (device arrays).
template <typename T>
void sample_rows(Context& ctx, int32_t* out, const T* logits, const DeviceSampling* params,
                 const float* u, int64_t n, int64_t vocab);

}  // namespace wb::cuda
