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
void swiglu_backward(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t count,
                     bool accumulate) {
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i) {
    const T s = T(1) / (T(1) + std::exp(-g[i]));
    const T gi = dh[i] * u[i] * s * (T(1) + g[i] * (T(1) - s));
    const T ui = dh[i] * g[i] * s;
    if (dg) dg[i] = accumulate ? dg[i] + gi : gi;
    if (du) du[i] = accumulate ? du[i] + ui : ui;
  }
}

template void swiglu_forward<float>(float*, const float*, const float*, int64_t);
template void swiglu_forward<double>(double*, const double*, const double*, int64_t);
template void swiglu_backward<float>(float*, float*, const float*, const float*, const float*, int64_t, bool);
template void swiglu_backward<double>(double*, double*, const double*, const double*, const double*, int64_t, bool);

}  // namespace wb::kernels
