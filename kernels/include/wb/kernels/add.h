// Elementwise helpers for the residual stream and gradient bookkeeping.
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

// The CUDA overloads compute in fp32. Zeroing on a device is fill_bytes (wb/cuda/buffer.h);
// dtype conversion and fills are device infrastructure in wb/cuda/elementwise.h.

// y[i] = a[i] + b[i]   (y may alias a or b)
template <typename T>
void add(T* y, const T* a, const T* b, int64_t count);
template <typename T>
void add(T* y, const T* a, const T* b, int64_t count, cuda::Context& ctx);

// y[i] += alpha * x[i]
template <typename T>
void axpy(T* y, acc_t<T> alpha, const T* x, int64_t count);
template <typename T>
void axpy(T* y, acc_t<T> alpha, const T* x, int64_t count, cuda::Context& ctx);

// x[i] = 0
template <typename T>
void zero(T* x, int64_t count);

// x[i] *= alpha
template <typename T>
void scale(T* x, acc_t<T> alpha, int64_t count);
template <typename T>
void scale(T* x, acc_t<T> alpha, int64_t count, cuda::Context& ctx);

// ---- CUDA only ----------------------------------------------------------------------------
// y[i] += x[i]: one launch for the residual add (the CPU writes add(y, y, x, count)).
template <typename T>
void add_inplace(T* y, const T* x, int64_t count, cuda::Context& ctx);

}  // namespace wb::kernels
