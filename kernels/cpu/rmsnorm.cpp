// CPU RMSNorm forward/backward, one row per loop iteration (sums in double for accuracy).
#include "wb/kernels/rmsnorm.h"

#include <cmath>

namespace wb::kernels {

// Below this many elements a loop runs on one thread (team start-up costs more than it saves).
constexpr int64_t kParallelMin = 1 << 20;

template <typename T>
void rmsnorm_forward(T* y, acc_t<T>* rstd, const T* x, const T* w, int64_t n, int64_t d, double eps) {
#pragma omp parallel for schedule(static) if (n * d > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const T* xi = x + i * d;
    double ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += double(xi[j]) * double(xi[j]);
    const T r = static_cast<T>(1.0 / std::sqrt(ss / double(d) + eps));
    if (rstd) rstd[i] = r;
    T* yi = y + i * d;
    for (int64_t j = 0; j < d; ++j) yi[j] = xi[j] * r * w[j];
  }
}

template <typename T>
void rmsnorm_backward(T* dx, acc_t<T>* dw, const T* dy, const T* x, const T* w, const acc_t<T>* rstd, int64_t n,
                      int64_t d) {
  if (dx) {
#pragma omp parallel for schedule(static) if (n * d > kParallelMin)
    for (int64_t i = 0; i < n; ++i) {
      const T* xi = x + i * d;
      const T* dyi = dy + i * d;
      const double r = rstd[i];
      // mean(g * xh) with g = dy * w, xh = x * r
      double dot = 0;
      for (int64_t j = 0; j < d; ++j) dot += double(dyi[j]) * double(w[j]) * double(xi[j]) * r;
      dot /= double(d);
      T* dxi = dx + i * d;
      for (int64_t j = 0; j < d; ++j)
        dxi[j] += static_cast<T>(r * (double(dyi[j]) * double(w[j]) - double(xi[j]) * r * dot));
    }
  }
  if (dw) {
#pragma omp parallel for schedule(static) if (n * d > kParallelMin)
    for (int64_t j = 0; j < d; ++j) {
      double acc = 0;
      for (int64_t i = 0; i < n; ++i) acc += double(dy[i * d + j]) * double(x[i * d + j]) * double(rstd[i]);
      dw[j] += static_cast<T>(acc);
    }
  }
}

template void rmsnorm_forward<float>(float*, float*, const float*, const float*, int64_t, int64_t, double);
template void rmsnorm_forward<double>(double*, double*, const double*, const double*, int64_t, int64_t, double);
template void rmsnorm_backward<float>(float*, float*, const float*, const float*, const float*, const float*, int64_t, int64_t);
template void rmsnorm_backward<double>(double*, double*, const double*, const double*, const double*, const double*, int64_t, int64_t);

}  // namespace wb::kernels
