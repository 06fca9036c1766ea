// Inverted dropout with a counter-based mask: element i is kept when
// hash(seed, i) (splitmix64, top 24 bits as a uniform in [0,1)) >= p, and kept elements are
// scaled by 1/(1-p). The mask is a pure function of (seed, i), so backward and per-layer
// recomputation regenerate it exactly without storing it, and a CUDA backend computes the same
// mask. p must be in [0, 1).
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

// The keep decision used by dropout_forward (exposed for tests and other backends).
bool dropout_keep(uint64_t seed, uint64_t index, float p);

// y[i] = keep(seed, i) ? x[i] / (1-p) : 0, for i in [0, count). y may equal x.
template <typename T>
void dropout_forward(T* y, const T* x, int64_t count, float p, uint64_t seed);
template <typename T>
void dropout_forward(T* y, const T* x, int64_t count, float p, uint64_t seed,
                     cuda::Context& ctx);

// dx[i] += keep(seed, i) ? dy[i] / (1-p) : 0.
template <typename T>
void dropout_backward(T* dx, const T* dy, int64_t count, float p, uint64_t seed);
template <typename T>
void dropout_backward(T* dx, const T* dy, int64_t count, float p, uint64_t seed,
                      cuda::Context& ctx);

}  // namespace wb::kernels
