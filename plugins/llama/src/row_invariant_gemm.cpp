// See row_invariant_gemm.h. Two implementations of the same fixed-order dot product: plain loops
// (any T, any CPU) and AVX-512 for float. Only one of them runs in a process.
#include "row_invariant_gemm.h"

#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace wb::llama::detail {

namespace {

constexpr int64_t kLanes = 16;  // partial sums per dot product
constexpr int64_t kRows = 4;    // rows of A sharing each load of B
constexpr int64_t kCols = 8;    // columns of C per OpenMP work item
// Products smaller than this (multiply-adds) run on the calling thread: waking a thread team
// costs more than they do. Threading never changes a result (each element has one owner).
constexpr int64_t kParallelWork = int64_t(1) << 21;

template <typename T>
inline void store(T* c, T alpha, T s, T beta) {
  *c = beta == T(0) ? alpha * s : alpha * s + beta * *c;
}

// Plain loops: lane sums, a fixed pairwise tree over the 16 lanes, then the tail in order.
template <typename T>
void dot_rows_plain(int64_t rows, const T* A, int64_t K, const T* b, T alpha, T beta, T* C, int64_t ldc) {
  const int64_t kv = K / kLanes * kLanes;
  for (int64_t m = 0; m < rows; ++m) {
    const T* a = A + m * K;
    T acc[kLanes] = {};
    for (int64_t k = 0; k < kv; k += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) acc[j] += a[k + j] * b[k + j];
    for (int64_t w = kLanes / 2; w >= 1; w /= 2)
      for (int64_t j = 0; j < w; ++j) acc[j] += acc[j + w];
    T s = acc[0];
    for (int64_t k = kv; k < K; ++k) s += a[k] * b[k];
    store(C + m * ldc, alpha, s, beta);
  }
}

#if defined(__x86_64__)
// AVX-512: lane j of one register is partial sum j (fused multiply-add); rows in groups of
// kRows reuse each loaded vector of b. Per element the arithmetic is the same in a group or alone.
// The 16 lanes by a fixed pairwise tree, then the K % 16 tail in order.
__attribute__((target("avx512f"))) void finish_avx512(__m512 acc, const float* a, const float* b, int64_t kv,
                                                       int64_t K, float alpha, float beta, float* c) {
  alignas(64) float lane[kLanes];
  _mm512_store_ps(lane, acc);
  for (int64_t w = kLanes / 2; w >= 1; w /= 2)  // the same tree as the plain loops
    for (int64_t j = 0; j < w; ++j) lane[j] += lane[j + w];
  float s = lane[0];
  for (int64_t k = kv; k < K; ++k) s += a[k] * b[k];
  store(c, alpha, s, beta);
}

__attribute__((target("avx512f"))) void dot_rows_avx512(int64_t rows, const float* A, int64_t K, const float* b,
                                                         float alpha, float beta, float* C, int64_t ldc) {
  const int64_t kv = K / kLanes * kLanes;
  int64_t m = 0;
  for (; m + kRows <= rows; m += kRows) {
    const float* a0 = A + m * K;
    const float* a1 = a0 + K;
    const float* a2 = a1 + K;
    const float* a3 = a2 + K;
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps(), s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
    for (int64_t k = 0; k < kv; k += kLanes) {
      const __m512 w = _mm512_loadu_ps(b + k);
      s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a0 + k), w, s0);
      s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a1 + k), w, s1);
      s2 = _mm512_fmadd_ps(_mm512_loadu_ps(a2 + k), w, s2);
      s3 = _mm512_fmadd_ps(_mm512_loadu_ps(a3 + k), w, s3);
    }
    finish_avx512(s0, a0, b, kv, K, alpha, beta, C + m * ldc);
    finish_avx512(s1, a1, b, kv, K, alpha, beta, C + (m + 1) * ldc);
    finish_avx512(s2, a2, b, kv, K, alpha, beta, C + (m + 2) * ldc);
    finish_avx512(s3, a3, b, kv, K, alpha, beta, C + (m + 3) * ldc);
  }
  for (; m < rows; ++m) {
    const float* a = A + m * K;
    __m512 s = _mm512_setzero_ps();
    for (int64_t k = 0; k < kv; k += kLanes) s = _mm512_fmadd_ps(_mm512_loadu_ps(a + k), _mm512_loadu_ps(b + k), s);
    finish_avx512(s, a, b, kv, K, alpha, beta, C + m * ldc);
  }
}

bool have_avx512() {
  static const bool yes = __builtin_cpu_supports("avx512f");
  return yes;
}
#endif

}  // namespace

template <typename T>
void row_invariant_gemm_nt(int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C) {
  if (M <= 0 || N <= 0) return;
  const int64_t blocks = (N + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (M * N * K >= kParallelWork)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t n_end = blk * kCols + kCols < N ? blk * kCols + kCols : N;
    for (int64_t n = blk * kCols; n < n_end; ++n) {
#if defined(__x86_64__)
      if constexpr (std::is_same_v<T, float>) {
        if (have_avx512()) {
          dot_rows_avx512(M, A, K, B + n * K,
                          alpha, beta, C + n, N);
          continue;
        }
      }
#endif
      dot_rows_plain<T>(M, A, K, B + n * K, alpha, beta, C + n, N);
    }
  }
}

template void row_invariant_gemm_nt<float>(int64_t, int64_t, int64_t, float, const float*, const float*, float, float*);
template void row_invariant_gemm_nt<double>(int64_t, int64_t, int64_t, double, const double*, const double*, double,
                                            double*);

}  // namespace wb::llama::detail
