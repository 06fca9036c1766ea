// SwiGLU gate of the Llama MLP: h = silu(g) * u, silu(g) = g * sigmoid(g), elementwise over
// count = rows * intermediate_size elements (g = gate_proj(x), u = up_proj(x)).
//   dg += dh * u * s * (1 + g * (1 - s))     du += dh * g * s        (s = sigmoid(g))
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

template <typename T>
void swiglu_forward(T* h, const T* g, const T* u, int64_t count);
template <typename T>
void swiglu_forward(T* h, const T* g, const T* u, int64_t count, cuda::Context& ctx);

// dg, du accumulate; accumulate = false overwrites them instead (the caller need not zero them
// first). Either may be null.
template <typename T>
void swiglu_backward(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t count,
                     bool accumulate = true);
template <typename T>
void swiglu_backward(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t count,
                     bool accumulate, cuda::Context& ctx);

}  // namespace wb::kernels
