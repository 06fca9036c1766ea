// Elementwise helpers between ops (residual stream, gradient bookkeeping, dtype conversion),
// mirroring wb/kernels/add.h; arithmetic in fp32. Zeroing is fill_bytes(p, 0, n) (buffer.h).
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// y[i] += x[i] for i < count.
template <typename T>
void add_inplace(Context& ctx, T* y, const T* x, int64_t count);

// y[i] = a[i] + b[i] (y may alias a or b).
template <typename T>
void add(Context& ctx, T* y, const T* a, const T* b, int64_t count);

// y[i] += alpha * x[i].
template <typename T>
void axpy(Context& ctx, T* y, float alpha, const T* x, int64_t count);

// x[i] *= alpha.
template <typename T>
void scale(Context& ctx, T* x, float alpha, int64_t count);

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
