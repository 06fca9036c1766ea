// See row_invariant_gemm.h. Two implementations of the same fixed-order dot product: plain loops
// (any T, any CPU) and AVX-512 for float. Only one of them runs in a process.
#include "row_invariant_gemm.h"

#include <type_traits>

#if defined(__x86_64__)
// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized in their masked builtins.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#endif

namespace wb::llama::detail {

namespace {

constexpr int64_t kLanes = 16;  // partial sums per dot product
constexpr int64_t kRows = 4;       // rows of A sharing each load of B
constexpr int64_t kBlockCols = 4;  // columns of B sharing each load of A (AVX-512 path)
constexpr int64_t kCols = 8;       // columns of C per OpenMP work item
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
// AVX-512: lane j of one register is partial sum j (fused multiply-add), the lanes summed by a
// fixed pairwise tree, then the K % 16 tail in order. A register block of R rows of A by NC
// columns of C (R, NC <= 4, compile-time so the R*NC sums stay in registers) shares each loaded
// vector of A across NC columns and each vector of B across R rows: 8 loads feed 16
// multiply-adds, where one row alone would need 2 loads per multiply-add. Per element the
// arithmetic is the same in any block or alone.
template <int R, int NC>
__attribute__((target("avx512f"))) inline void block_avx512(const float* A, int64_t K, int64_t kv, const float* B,
                                                             float alpha, float beta, float* C, int64_t ldc) {
  // Fully unrolled (GCC -O2 would keep the R x NC sums in memory otherwise).
  __m512 acc[R][NC];
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NC; ++j) acc[r][j] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kv; k += kLanes) {
    __m512 w[NC];
#pragma GCC unroll 4
    for (int j = 0; j < NC; ++j) w[j] = _mm512_loadu_ps(B + j * K + k);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 x = _mm512_loadu_ps(A + r * K + k);
#pragma GCC unroll 4
      for (int j = 0; j < NC; ++j) acc[r][j] = _mm512_fmadd_ps(x, w[j], acc[r][j]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int j = 0; j < NC; ++j) {
      // Lanes j and j+8, then j and j+4, j and j+2, j and j+1: a fixed pairwise tree.
      const __m512 v = _mm512_add_ps(acc[r][j], _mm512_shuffle_f32x4(acc[r][j], acc[r][j], 0xEE));
      const __m256 v8 = _mm512_castps512_ps256(v);
      __m128 v4 = _mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1));
      v4 = _mm_add_ps(v4, _mm_movehl_ps(v4, v4));
      v4 = _mm_add_ss(v4, _mm_shuffle_ps(v4, v4, 1));
      const float* a = A + r * K;
      const float* b = B + j * K;
      float s = _mm_cvtss_f32(v4);
      for (int64_t k = kv; k < K; ++k) s += a[k] * b[k];
      store(C + r * ldc + j, alpha, s, beta);
    }
}

// Dispatch of a block's run-time shape (rows 1..4, columns 1..4) to its compile-time kernel.
template <int R>
__attribute__((target("avx512f"))) inline void rows_avx512(int nc, const float* A, int64_t K, int64_t kv,
                                                            const float* B, float alpha, float beta, float* C,
                                                            int64_t ldc) {
  switch (nc) {
    case 1: block_avx512<R, 1>(A, K, kv, B, alpha, beta, C, ldc); break;
    case 2: block_avx512<R, 2>(A, K, kv, B, alpha, beta, C, ldc); break;
    case 3: block_avx512<R, 3>(A, K, kv, B, alpha, beta, C, ldc); break;
    default: block_avx512<R, 4>(A, K, kv, B, alpha, beta, C, ldc); break;
  }
}

__attribute__((target("avx512f"))) void gemm_avx512(int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                                                     const float* B, float beta, float* C) {
  const int64_t kv = K / kLanes * kLanes;
  const int64_t blocks = (N + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (M * N * K >= kParallelWork)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t n_end = blk * kCols + kCols < N ? blk * kCols + kCols : N;
    // Four columns of B at a time (a few KB, kept in L1/L2) against every row group of A.
    for (int64_t n = blk * kCols; n < n_end; n += kBlockCols) {
      const int nc = static_cast<int>(n_end - n < kBlockCols ? n_end - n : kBlockCols);
      for (int64_t m = 0; m < M; m += kRows) {
        const float* a = A + m * K;
        float* c = C + m * N + n;
        switch (M - m < kRows ? M - m : kRows) {
          case 1: rows_avx512<1>(nc, a, K, kv, B + n * K, alpha, beta, c, N); break;
          case 2: rows_avx512<2>(nc, a, K, kv, B + n * K, alpha, beta, c, N); break;
          case 3: rows_avx512<3>(nc, a, K, kv, B + n * K, alpha, beta, c, N); break;
          default: rows_avx512<4>(nc, a, K, kv, B + n * K, alpha, beta, c, N); break;
        }
      }
    }
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
#if defined(__x86_64__)
  if constexpr (std::is_same_v<T, float>) {
    if (have_avx512()) {
      gemm_avx512(M, N, K, alpha, A, B, beta, C);
      return;
    }
  }
#endif
  const int64_t blocks = (N + kCols - 1) / kCols;
#pragma omp parallel for schedule(static) if (M * N * K >= kParallelWork)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t n_end = blk * kCols + kCols < N ? blk * kCols + kCols : N;
    for (int64_t n = blk * kCols; n < n_end; ++n) dot_rows_plain<T>(M, A, K, B + n * K, alpha, beta, C + n, N);
  }
}

template void row_invariant_gemm_nt<float>(int64_t, int64_t, int64_t, float, const float*, const float*, float, float*);
template void row_invariant_gemm_nt<double>(int64_t, int64_t, int64_t, double, const double*, const double*, double,
                                            double*);

}  // namespace wb::llama::detail

#if defined(__x86_64__)
#pragma GCC diagnostic pop
#endif
