// RMSNorm on device, mirroring wb/kernels/rmsnorm.h:
//   y = x * r * w,  r = rstd = 1/sqrt(mean(x^2) + eps)
//   dx += r * (g - xh * mean(g * xh)),  dw += sum_rows dy * xh      (xh = x*r, g = dy*w)
// One thread block per row; sums in fp32. Differences from the CPU signature: rstd is always
// fp32 (it is an accumulator, not a stored activation) and dw is fp32 (a master-weight gradient).
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// y[n,d]; rstd[n] saved for backward (may be null).
template <typename T>
void rmsnorm_forward(Context& ctx, T* y, float* rstd, const T* x, const T* w, int64_t n,
                     int64_t d, float eps);

// dx[n,d] += ... and dw[d] += ... (either may be null).
template <typename T>
void rmsnorm_backward(Context& ctx, T* dx, float* dw, const T* dy, const T* x, const T* w,
                      const float* rstd, int64_t n, int64_t d);

}  // namespace wb::cuda
