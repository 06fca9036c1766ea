// RMSNorm (Llama): y = x / sqrt(mean(x^2) + eps) * w, per row of d elements.
//
// Backward, with r = rstd = 1/sqrt(mean(x^2)+eps), xh = x*r, g = dy*w:
//   dx = r * (g - xh * mean(g * xh))       dw += sum over rows of dy * xh
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

// y[n,d] and rstd[n] (saved for backward; may be null when no backward follows). rstd and dw
// are accumulators (precision.h): fp32 for 16-bit T. The CUDA overload runs one thread block
// per row with fp32 sums.
template <typename T>
void rmsnorm_forward(T* y, acc_t<T>* rstd, const T* x, const T* w, int64_t n, int64_t d,
                     double eps);
template <typename T>
void rmsnorm_forward(T* y, acc_t<T>* rstd, const T* x, const T* w, int64_t n, int64_t d,
                     double eps, cuda::Context& ctx);

// dx[n,d] += ...; dw[d] += ... (either may be null). rstd is the forward's saved rstd.
template <typename T>
void rmsnorm_backward(T* dx, acc_t<T>* dw, const T* dy, const T* x, const T* w,
                      const acc_t<T>* rstd, int64_t n, int64_t d);
template <typename T>
void rmsnorm_backward(T* dx, acc_t<T>* dw, const T* dy, const T* x, const T* w,
                      const acc_t<T>* rstd, int64_t n, int64_t d, cuda::Context& ctx);

}  // namespace wb::kernels
