// CPU SwiGLU gate forward/backward.
#include "wb/kernels/swiglu.h"

#include <cmath>

namespace wb::kernels {

// Below this many elements a loop runs on one thread (team start-up costs more than it saves).
constexpr int64_t kParallelMin = 1 << 20;

template <typename T>
void swiglu_forward(T* h, const T* g, const T* u, int64_t count) {
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i) {
    const T s = T(1) / (T(1) + std::exp(-g[i]));
    h[i] = g[i] * s * u[i];
  }
}

template <typename T>
void swiglu_backward(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t count) {
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i) {
    const T s = T(1) / (T(1) + std::exp(-g[i]));
    if (dg) dg[i] += dh[i] * u[i] * s * (T(1) + g[i] * (T(1) - s));
    if (du) du[i] += dh[i] * g[i] * s;
  }
}

template void swiglu_forward<float>(float*, const float*, const float*, int64_t);
template void swiglu_forward<double>(double*, const double*, const double*, int64_t);
template void swiglu_backward<float>(float*, float*, const float*, const float*, const float*, int64_t);
template void swiglu_backward<double>(double*, double*, const double*, const double*, const double*, int64_t);

}  // namespace wb::kernels
