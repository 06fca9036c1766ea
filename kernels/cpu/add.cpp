// CPU elementwise helpers.
#include "wb/kernels/add.h"

namespace wb::kernels {

// Below this many elements a loop runs on one thread (team start-up costs more than it saves).
constexpr int64_t kParallelMin = 1 << 20;

template <typename T>
void add(T* y, const T* a, const T* b, int64_t count) {
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i) y[i] = a[i] + b[i];
}

template <typename T>
void axpy(T* y, acc_t<T> alpha, const T* x, int64_t count) {
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i) y[i] += alpha * x[i];
}

template <typename T>
void zero(T* x, int64_t count) {
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i) x[i] = T(0);
}

template <typename T>
void scale(T* x, acc_t<T> alpha, int64_t count) {
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i) x[i] *= alpha;
}

#define WB_INSTANTIATE(T)                                        \
  template void add<T>(T*, const T*, const T*, int64_t);         \
  template void axpy<T>(T*, T, const T*, int64_t);               \
  template void zero<T>(T*, int64_t);                            \
  template void scale<T>(T*, T, int64_t);
WB_INSTANTIATE(float)
WB_INSTANTIATE(double)
#undef WB_INSTANTIATE

}  // namespace wb::kernels
