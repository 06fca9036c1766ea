// CPU softmax cross-entropy (max-subtracted log-sum-exp), softmax and log-softmax by rows.
#include "wb/kernels/xent.h"

#include <algorithm>
#include <cmath>
#include <type_traits>

#include "vexp.h"

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

namespace {
// One row of cross_entropy_fused, any T: returns the loss; d (nullable, may equal x) gets
// dl * (softmax - onehot).
template <typename T>
double xent_row(T* d, const T* x, int64_t vocab, int32_t target, T dl) {
  const double xt = double(x[target]);  // read before d (which may be x) is written
  const double lse = logsumexp(x, vocab);
  if (d) {
    for (int64_t j = 0; j < vocab; ++j) d[j] = dl * static_cast<T>(std::exp(double(x[j]) - lse));
    d[target] -= dl;
  }
  return lse - xt;
}
}  // namespace

// The float row, built for AVX-512, AVX2 and baseline x86-64 (chosen at load time): max, then
// exp(x - max) stored into d with its sum (float within blocks of 1024, double across), then a
// scale. Two reads and one write of the row; one exp per element.
namespace detail {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
double xent_row_f32(float* d, const float* x, int64_t vocab, int32_t target, float dl) {
  const float xt = x[target];
  float mx = x[0];
#pragma omp simd reduction(max : mx)
  for (int64_t j = 0; j < vocab; ++j) mx = x[j] > mx ? x[j] : mx;
  double sum = 0;
  for (int64_t b = 0; b < vocab; b += 1024) {
    const int64_t e = std::min<int64_t>(vocab, b + 1024);
    float s = 0;
    if (d) {
#pragma omp simd reduction(+ : s)
      for (int64_t j = b; j < e; ++j) {
        const float v = detail::vexp(x[j] - mx);
        d[j] = v;
        s += v;
      }
    } else {
#pragma omp simd reduction(+ : s)
      for (int64_t j = b; j < e; ++j) s += detail::vexp(x[j] - mx);
    }
    sum += double(s);
  }
  if (d) {
    const float sc = static_cast<float>(double(dl) / sum);
#pragma omp simd
    for (int64_t j = 0; j < vocab; ++j) d[j] *= sc;
    d[target] -= dl;
  }
  return double(mx) + std::log(sum) - double(xt);
}
}  // namespace detail

template <typename T>
void cross_entropy_fused(acc_t<T>* losses, T* dlogits, const T* logits, const int32_t* targets,
                         const acc_t<T>* dloss, int64_t n, int64_t vocab) {
#pragma omp parallel for schedule(static) if (n * vocab > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T* drow = dlogits ? dlogits + i * vocab : nullptr;
    if (targets[i] < 0) {
      losses[i] = T(0);
      if (drow) std::fill(drow, drow + vocab, T(0));
      continue;
    }
    const T dl = dloss ? static_cast<T>(dloss[i]) : T(0);
    if constexpr (std::is_same_v<T, float>)
      losses[i] = static_cast<T>(detail::xent_row_f32(drow, logits + i * vocab, vocab, targets[i], dl));
    else
      losses[i] = static_cast<T>(xent_row<T>(drow, logits + i * vocab, vocab, targets[i], dl));
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

template <typename T>
void token_logprob_forward(acc_t<T>* logp, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab, acc_t<T> inv_temp) {
#pragma omp parallel for schedule(static) if (n * vocab > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    if (targets[i] < 0) {
      logp[i] = T(0);
      continue;
    }
    const T* row = logits + i * vocab;
    double mx = double(row[0]) * double(inv_temp);
    for (int64_t j = 1; j < vocab; ++j) mx = std::max(mx, double(row[j]) * double(inv_temp));
    double sum = 0;
    for (int64_t j = 0; j < vocab; ++j) sum += std::exp(double(row[j]) * double(inv_temp) - mx);
    logp[i] = static_cast<T>(double(row[targets[i]]) * double(inv_temp) - mx - std::log(sum));
  }
}

template <typename T>
void token_logprob_backward(T* dlogits, const T* logits, const int32_t* targets, const acc_t<T>* coef,
                            int64_t n, int64_t vocab, acc_t<T> inv_temp) {
#pragma omp parallel for schedule(static) if (n * vocab > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    T* d = dlogits + i * vocab;
    if (targets[i] < 0) {
      std::fill(d, d + vocab, T(0));
      continue;
    }
    const T* row = logits + i * vocab;
    const double it = double(inv_temp);
    double mx = double(row[0]) * it;
    for (int64_t j = 1; j < vocab; ++j) mx = std::max(mx, double(row[j]) * it);
    double sum = 0;
    for (int64_t j = 0; j < vocab; ++j) sum += std::exp(double(row[j]) * it - mx);
    const double lse = mx + std::log(sum);
    const double g = double(coef[i]) * it;
    // Each element is read before it is written, so d may equal row.
    for (int64_t j = 0; j < vocab; ++j) d[j] = static_cast<T>(-g * std::exp(double(row[j]) * it - lse));
    d[targets[i]] += static_cast<T>(g);
  }
}

template <typename T>
void token_entropy_forward(acc_t<T>* ent, const T* logits, const int32_t* targets, int64_t n,
                           int64_t vocab, acc_t<T> inv_temp) {
#pragma omp parallel for schedule(static) if (n * vocab > kParallelMin)
  for (int64_t i = 0; i < n; ++i) {
    if (targets[i] < 0) {
      ent[i] = T(0);
      continue;
    }
    const T* row = logits + i * vocab;
    const double it = double(inv_temp);
    double mx = double(row[0]) * it;
    for (int64_t j = 1; j < vocab; ++j) mx = std::max(mx, double(row[j]) * it);
    double sum = 0, pz = 0;
    for (int64_t j = 0; j < vocab; ++j) {
      const double z = double(row[j]) * it;
      const double e = std::exp(z - mx);
      sum += e;
      pz += e * z;
    }
    ent[i] = static_cast<T>(mx + std::log(sum) - pz / sum);
  }
}

#define WB_INSTANTIATE(T)                                                                    \
  template void cross_entropy_forward<T>(T*, const T*, const int32_t*, int64_t, int64_t);    \
  template void cross_entropy_backward<T>(T*, const T*, const int32_t*, const T*, int64_t,   \
                                          int64_t);                                          \
  template void cross_entropy_fused<T>(T*, T*, const T*, const int32_t*, const T*, int64_t,   \
                                       int64_t);                                             \
  template void softmax_forward<T>(T*, int64_t, int64_t);                                    \
  template void log_softmax_forward<T>(T*, const T*, int64_t, int64_t);                      \
  template void token_logprob_forward<T>(T*, const T*, const int32_t*, int64_t, int64_t, T);  \
  template void token_logprob_backward<T>(T*, const T*, const int32_t*, const T*, int64_t,    \
                                          int64_t, T);                                       \
  template void token_entropy_forward<T>(T*, const T*, const int32_t*, int64_t, int64_t, T);
WB_INSTANTIATE(float)
WB_INSTANTIATE(double)
#undef WB_INSTANTIATE

}  // namespace wb::kernels
