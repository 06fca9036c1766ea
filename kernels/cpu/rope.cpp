// CPU rotary embedding (HF rotate-half layout), forward and inverse rotation.
#include "wb/kernels/rope.h"

#include <cmath>
#include <vector>

namespace wb::kernels {

// Below this many elements a loop runs on one thread (team start-up costs more than it saves).
constexpr int64_t kParallelMin = 1 << 20;

namespace {
// Rotates each (i, i+hd/2) pair by sign * pos * theta^(-2i/hd).
template <typename T>
void rotate(T* x, int64_t ld, const int32_t* positions, int64_t n, int64_t n_heads,
            int64_t head_dim, double theta, double sign) {
  const int64_t half = head_dim / 2;
  std::vector<double> inv_freq(half);
  for (int64_t i = 0; i < half; ++i)
    inv_freq[i] = 1.0 / std::pow(theta, double(2 * i) / double(head_dim));
#pragma omp parallel for schedule(static) if (n * n_heads * head_dim > kParallelMin)
  for (int64_t r = 0; r < n; ++r) {
    const double pos = positions[r];
    T* row = x + r * ld;
    for (int64_t i = 0; i < half; ++i) {
      const double a = pos * inv_freq[i];
      const T c = static_cast<T>(std::cos(a));
      const T s = static_cast<T>(sign * std::sin(a));
      for (int64_t h = 0; h < n_heads; ++h) {
        T* xh = row + h * head_dim;
        const T x0 = xh[i], x1 = xh[i + half];
        xh[i] = x0 * c - x1 * s;
        xh[i + half] = x1 * c + x0 * s;
      }
    }
  }
}
}  // namespace

template <typename T>
void rope_forward(T* x, int64_t ld, const int32_t* positions, int64_t n, int64_t n_heads,
                  int64_t head_dim, double theta) {
  rotate(x, ld, positions, n, n_heads, head_dim, theta, 1.0);
}

template <typename T>
void rope_backward(T* dx, int64_t ld, const int32_t* positions, int64_t n, int64_t n_heads,
                   int64_t head_dim, double theta) {
  rotate(dx, ld, positions, n, n_heads, head_dim, theta, -1.0);
}

template void rope_forward<float>(float*, int64_t, const int32_t*, int64_t, int64_t, int64_t, double);
template void rope_forward<double>(double*, int64_t, const int32_t*, int64_t, int64_t, int64_t, double);
template void rope_backward<float>(float*, int64_t, const int32_t*, int64_t, int64_t, int64_t, double);
template void rope_backward<double>(double*, int64_t, const int32_t*, int64_t, int64_t, int64_t, double);

}  // namespace wb::kernels
