// CPU softmax cross-entropy (max-subtracted log-sum-exp), softmax and log-softmax by rows.
#include "wb/kernels/xent.h"

#include <algorithm>
#include <cmath>

namespace wb::kernels {

// Below this many elements a loop runs on one thread (team start-up costs more than it saves).
constexpr int64_t kParallelMin = 1 << 20;

namespace {
// log(sum(exp(row))) computed stably: exponentials in T (expf for float: the vocabulary-wide
// passes dominate the loss's cost), their sum accumulated in double.
template <typename T>
double logsumexp(const T* row, int64_t d) {
  T mx = row[0];
  for (int64_t j = 1; j < d; ++j) mx = std::max(mx, row[j]);
  double sum = 0;
  for (int64_t j = 0; j < d; ++j) sum += double(std::exp(row[j] - mx));
  return double(mx) + std::log(sum);
}
}  // namespace

template <typename T>
void cross_entropy_forward(acc_t<T>* losses, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab) {
#pragma omp parallel for schedule(static) if (n * vocab > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    if (targets[i] < 0) {
      losses[i] = T(0);
      continue;
    }
    const T* row = logits + i * vocab;
    losses[i] = static_cast<T>(logsumexp(row, vocab) - double(row[targets[i]]));
  }
}

template <typename T>
void cross_entropy_backward(T* dlogits, const T* logits, const int32_t* targets, const acc_t<T>* dloss,
                            int64_t n, int64_t vocab) {
#pragma omp parallel for schedule(static) if (n * vocab > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    if (targets[i] < 0) continue;
    const T* row = logits + i * vocab;
    T* drow = dlogits + i * vocab;
    const T lse = static_cast<T>(logsumexp(row, vocab));
    const T dl = dloss[i];
    for (int64_t j = 0; j < vocab; ++j) drow[j] += dl * std::exp(row[j] - lse);
    drow[targets[i]] -= static_cast<T>(dl);
  }
}

template <typename T>
void softmax_forward(T* x, int64_t n, int64_t d) {
#pragma omp parallel for schedule(static) if (n * d > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T* row = x + i * d;
    const T lse = static_cast<T>(logsumexp(row, d));
    for (int64_t j = 0; j < d; ++j) row[j] = std::exp(row[j] - lse);
  }
}

template <typename T>
void log_softmax_forward(T* out, const T* x, int64_t n, int64_t d) {
#pragma omp parallel for schedule(static) if (n * d > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    const double lse = logsumexp(x + i * d, d);
    for (int64_t j = 0; j < d; ++j) out[i * d + j] = static_cast<T>(double(x[i * d + j]) - lse);
  }
}

#define WB_INSTANTIATE(T)                                                                    \
  template void cross_entropy_forward<T>(T*, const T*, const int32_t*, int64_t, int64_t);    \
  template void cross_entropy_backward<T>(T*, const T*, const int32_t*, const T*, int64_t,   \
                                          int64_t);                                          \
  template void softmax_forward<T>(T*, int64_t, int64_t);                                    \
  template void log_softmax_forward<T>(T*, const T*, int64_t, int64_t);
WB_INSTANTIATE(float)
WB_INSTANTIATE(double)
#undef WB_INSTANTIATE

}  // namespace wb::kernels
