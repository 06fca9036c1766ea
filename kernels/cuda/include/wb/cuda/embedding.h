// Token embedding on device, mirroring wb/kernels/embedding.h. Token ids must be validated by
// the caller (0 <= id < vocab), as on the CPU.
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// x[i,:] = table[tokens[i],:] for i < n (tokens in device memory).
template <typename T>
void embedding_forward(Context& ctx, T* x, const int32_t* tokens, const T* table, int64_t n,
                       int64_t d);

// dtable[tokens[i],:] += dx[i,:]. dtable is fp32 (the gradient of a master weight); repeated
// tokens are summed with atomicAdd, so the summation order (and the last bits) may vary.
template <typename T>
void embedding_backward(Context& ctx, float* dtable, const T* dx, const int32_t* tokens,
                        int64_t n, int64_t d);

}  // namespace wb::cuda
