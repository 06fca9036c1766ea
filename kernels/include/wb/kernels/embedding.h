// Token embedding lookup: x[i,:] = table[tokens[i],:].  Token ids must already be validated
// (0 <= id < vocab); the model checks them and throws before calling.
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

// x[n,d] = table[tokens[i], :] for each row i (tokens in the backend's memory).
template <typename T>
void embedding_forward(T* x, const int32_t* tokens, const T* table, int64_t n, int64_t d);
template <typename T>
void embedding_forward(T* x, const int32_t* tokens, const T* table, int64_t n, int64_t d,
                       cuda::Context& ctx);

// dtable[tokens[i], :] += dx[i, :]. dtable is a master-weight gradient (precision.h: fp32 for
// 16-bit T). The CPU sums rows in index order (deterministic); CUDA sums repeated tokens with
// atomicAdd, so there the summation order (and the last bits) may vary.
template <typename T>
void embedding_backward(acc_t<T>* dtable, const T* dx, const int32_t* tokens, int64_t n,
                        int64_t d);
template <typename T>
void embedding_backward(acc_t<T>* dtable, const T* dx, const int32_t* tokens, int64_t n,
                        int64_t d, cuda::Context& ctx);

}  // namespace wb::kernels
