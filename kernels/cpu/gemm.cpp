// CPU gemm: OpenBLAS cblas_?gemm, row-major. The linear layer is gemm with W transposed.
#include "wb/kernels/gemm.h"

#include <cblas.h>

namespace wb::kernels {

namespace {
inline CBLAS_TRANSPOSE tr(bool t) { return t ? CblasTrans : CblasNoTrans; }

void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
               int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, tr(ta), tr(tb), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A,
               int64_t lda, const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, tr(ta), tr(tb), M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

// One output row (decode at batch 1): C[0,:] = alpha * op(A)[0,:] * op(B) + beta * C[0,:].
// sgemm would repack the whole of B on every call, which is most of a decode step's time;
// gemv streams B once, so a token costs one pass over the weights.
void blas_gemv_row(bool ta, bool tb, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C) {
  // op(B) is [K,N]: B stored [N,K] when transposed (y = B x), else [K,N] (y = B^T x).
  cblas_sgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, tb ? N : K, tb ? K : N, alpha, B,
              ldb, A, ta ? lda : 1, beta, C, 1);
}
void blas_gemv_row(bool ta, bool tb, int64_t N, int64_t K, double alpha, const double* A,
                   int64_t lda, const double* B, int64_t ldb, double beta, double* C) {
  cblas_dgemv(CblasRowMajor, tb ? CblasNoTrans : CblasTrans, tb ? N : K, tb ? K : N, alpha, B,
              ldb, A, ta ? lda : 1, beta, C, 1);
}
}  // namespace

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, acc_t<T> alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, acc_t<T> beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // BLAS leaves C untouched for K == 0 only when beta == 1; make it explicit
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  if (M == 1) {
    blas_gemv_row(trans_a, trans_b, N, K, alpha, A, lda, B, ldb, beta, C);
    return;
  }
  blas_gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <typename T>
void linear_forward(T* y, const T* x, const T* w, int64_t n, int64_t in, int64_t out,
                    bool accumulate) {
  // y[n,out] = x[n,in] * w[out,in]^T
  gemm<T>(false, true, n, out, in, T(1), x, in, w, in, accumulate ? T(1) : T(0), y, out);
}

template <typename T>
void linear_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, int64_t n, int64_t in,
                     int64_t out, bool accumulate) {
  const T beta = accumulate ? T(1) : T(0);
  // dx[n,in] += dy[n,out] * w[out,in]
  if (dx) gemm<T>(false, false, n, in, out, T(1), dy, out, w, in, beta, dx, in);
  // dw[out,in] += dy^T[out,n] * x[n,in]
  if (dw) gemm<T>(true, false, out, in, n, T(1), dy, out, x, in, beta, dw, in);
}

#define WB_INSTANTIATE(T)                                                                     \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, \
                        int64_t, T, T*, int64_t);                                             \
  template void linear_forward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t, bool);   \
  template void linear_backward<T>(T*, T*, const T*, const T*, const T*, int64_t, int64_t,    \
                                   int64_t, bool);
WB_INSTANTIATE(float)
WB_INSTANTIATE(double)
#undef WB_INSTANTIATE

}  // namespace wb::kernels
