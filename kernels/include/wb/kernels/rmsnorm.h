// RMSNorm (Llama): y = x / sqrt(mean(x^2) + eps) * w, per row of d elements.
//
// Backward, with r = rstd = 1/sqrt(mean(x^2)+eps), xh = x*r, g = dy*w:
//   dx = r * (g - xh * mean(g * xh))       dw += sum over rows of dy * xh
#pragma once

#include <cstdint>

namespace wb::kernels {

// y[n,d] and rstd[n] (saved for backward; may be null when no backward follows).
template <typename T>
void rmsnorm_forward(T* y, T* rstd, const T* x, const T* w, int64_t n, int64_t d, double eps);

// dx[n,d] += ...; dw[d] += ... (either may be null). rstd is the forward's saved rstd.
template <typename T>
void rmsnorm_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, const T* rstd, int64_t n,
                      int64_t d);

}  // namespace wb::kernels
