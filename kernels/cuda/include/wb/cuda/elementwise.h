// Device buffer infrastructure: fills and dtype conversion (arithmetic in fp32). The elementwise
// ops (add, axpy, scale, add_inplace) are declared once in wb/kernels/add.h; zeroing is
// fill_bytes(p, 0, n) (buffer.h).
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// x[i] = value.
template <typename T>
void fill(Context& ctx, T* x, float value, int64_t count);

// x[i] ~ N(0, stddev^2), a pure function of (seed, i) (splitmix64 + Box-Muller): random weights
// for benchmarks at 7B scale without a host round trip.
template <typename T>
void fill_normal(Context& ctx, T* x, int64_t count, float stddev, uint64_t seed);

// dst[i] = To(src[i]) (fp32 accumulate / round to nearest).
template <typename To, typename From>
void convert(Context& ctx, To* dst, const From* src, int64_t count);

}  // namespace wb::cuda
