// CPU SwiGLU gate forward/backward. Float runs the sigmoid's exp through vexp.h (vectorised, no
// libm call: one exp per element of every [rows, intermediate] activation was a visible share of
// a prefill); double keeps std::exp.
#include "wb/kernels/swiglu.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "vexp.h"
#include <omp.h>

namespace wb::kernels {

// Below this many elements a loop runs on one thread (team start-up costs more than it saves).
constexpr int64_t kParallelMin = 1 << 20;

namespace {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void swiglu_forward_f32(float* h, const float* g, const float* u, int64_t count) {
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) {
    const float s = 1.0f / (1.0f + detail::vexp(-g[i]));
    h[i] = g[i] * s * u[i];
  }
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
void swiglu_backward_f32(float* dg, float* du, const float* dh, const float* g, const float* u, int64_t count,
                         bool accumulate) {
  if (accumulate) {
#pragma omp simd
    for (int64_t i = 0; i < count; ++i) {
      const float s = 1.0f / (1.0f + detail::vexp(-g[i]));
      dg[i] += dh[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
      du[i] += dh[i] * g[i] * s;
    }
    return;
  }
#pragma omp simd
  for (int64_t i = 0; i < count; ++i) {  // overwrite: what was there is never read
    const float s = 1.0f / (1.0f + detail::vexp(-g[i]));
    dg[i] = dh[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
    du[i] = dh[i] * g[i] * s;
  }
}

// Splits [0, count) into one contiguous block per thread when count is large enough.
template <typename F>
void blocks(int64_t count, F&& f) {
  if (count <= kParallelMin) {
    f(int64_t(0), count);
    return;
  }
#pragma omp parallel
  {
    const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t per = (count + nt - 1) / nt, b = std::min(count, t * per), e = std::min(count, b + per);
    if (b < e) f(b, e);
  }
}
}  // namespace

template <typename T>
void swiglu_forward(T* h, const T* g, const T* u, int64_t count) {
  if constexpr (std::is_same_v<T, float>) {
    blocks(count, [&](int64_t b, int64_t e) { swiglu_forward_f32(h + b, g + b, u + b, e - b); });
    return;
  }
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i) {
    const T s = T(1) / (T(1) + std::exp(-g[i]));
    h[i] = g[i] * s * u[i];
  }
}

template <typename T>
void swiglu_backward(T* dg, T* du, const T* dh, const T* g, const T* u, int64_t count,
                     bool accumulate) {
  if constexpr (std::is_same_v<T, float>) {
    if (dg && du) {
      blocks(count, [&](int64_t b, int64_t e) {
        swiglu_backward_f32(dg + b, du + b, dh + b, g + b, u + b, e - b, accumulate);
      });
      return;
    }
  }
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
