// Elementwise helpers for the residual stream and gradient bookkeeping.
#pragma once

#include <cstdint>

namespace wb::kernels {

// y[i] = a[i] + b[i]   (y may alias a or b)
template <typename T>
void add(T* y, const T* a, const T* b, int64_t count);

// y[i] += alpha * x[i]
template <typename T>
void axpy(T* y, T alpha, const T* x, int64_t count);

// x[i] = 0
template <typename T>
void zero(T* x, int64_t count);

// x[i] *= alpha
template <typename T>
void scale(T* x, T alpha, int64_t count);

}  // namespace wb::kernels
