// Inverted dropout on device with the CPU backend's counter-based mask (wb/kernels/dropout.h):
// element i is kept when splitmix64(seed ^ splitmix64(i)) >> 40, as a uniform in [0,1), is >= p,
// and kept elements are scaled by 1/(1-p). The same (seed, i) gives the same mask on both
// backends, so a run can move between them and backward regenerates the mask without storing it.
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// y[i] = keep(seed, i) ? x[i] / (1-p) : 0; y may equal x. p in [0, 1).
template <typename T>
void dropout_forward(Context& ctx, T* y, const T* x, int64_t count, float p, uint64_t seed);

// dx[i] += keep(seed, i) ? dy[i] / (1-p) : 0.
template <typename T>
void dropout_backward(Context& ctx, T* dx, const T* dy, int64_t count, float p, uint64_t seed);

}  // namespace wb::cuda
