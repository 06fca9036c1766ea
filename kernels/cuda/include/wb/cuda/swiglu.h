// SwiGLU on device, mirroring wb/kernels/swiglu.h: h = silu(g) * u, s = sigmoid(g),
//   dg += dh * u * s * (1 + g * (1 - s)),   du += dh * g * s.
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

template <typename T>
void swiglu_forward(Context& ctx, T* h, const T* g, const T* u, int64_t count);

// dg, du accumulate (accumulate = false: overwrite, so the caller need not zero them first);
// either may be null.
template <typename T>
void swiglu_backward(Context& ctx, T* dg, T* du, const T* dh, const T* g, const T* u,
                     int64_t count, bool accumulate = true);

}  // namespace wb::cuda
