// CPU counter-based dropout (splitmix64 hash of seed and element index).
#include "wb/kernels/dropout.h"

namespace wb::kernels {

// Below this many elements a loop runs on one thread (team start-up costs more than it saves).
constexpr int64_t kParallelMin = 1 << 20;

namespace {
inline uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
}  // namespace

bool dropout_keep(uint64_t seed, uint64_t index, float p) {
  const uint64_t h = splitmix64(seed ^ splitmix64(index));
  const float u = static_cast<float>(h >> 40) * (1.0f / 16777216.0f);  // top 24 bits in [0,1)
  return u >= p;
}

template <typename T>
void dropout_forward(T* y, const T* x, int64_t count, float p, uint64_t seed) {
  const T keep_scale = T(1) / (T(1) - T(p));
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i)
    y[i] = dropout_keep(seed, static_cast<uint64_t>(i), p) ? x[i] * keep_scale : T(0);
}

template <typename T>
void dropout_backward(T* dx, const T* dy, int64_t count, float p, uint64_t seed) {
  const T keep_scale = T(1) / (T(1) - T(p));
#pragma omp parallel for schedule(static) if (count > kParallelMin)
  for (int64_t i = 0; i < count; ++i)
    if (dropout_keep(seed, static_cast<uint64_t>(i), p)) dx[i] += dy[i] * keep_scale;
}

template void dropout_forward<float>(float*, const float*, int64_t, float, uint64_t);
template void dropout_forward<double>(double*, const double*, int64_t, float, uint64_t);
template void dropout_backward<float>(float*, const float*, int64_t, float, uint64_t);
template void dropout_backward<double>(double*, const double*, int64_t, float, uint64_t);

}  // namespace wb::kernels
