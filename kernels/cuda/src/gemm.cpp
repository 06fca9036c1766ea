#include "wb/kernels/gemm.h"

#include <stdexcept>
#include <string>
#include <type_traits>

#include "wb/cuda/check.h"
#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {
namespace {

template <typename T> constexpr cudaDataType_t cuda_type();
template <> constexpr cudaDataType_t cuda_type<float>() { return CUDA_R_32F; }
template <> constexpr cudaDataType_t cuda_type<fp16>() { return CUDA_R_16F; }
template <> constexpr cudaDataType_t cuda_type<bf16>() { return CUDA_R_16BF; }

// fp32 inputs keep full fp32 math (no TF32) so the fp32 path matches the CPU to fp32 rounding.
template <typename T> constexpr cublasComputeType_t compute_type() {
  return std::is_same_v<T, float> ? CUBLAS_COMPUTE_32F_PEDANTIC : CUBLAS_COMPUTE_32F;
}

int as_int(int64_t v, const char* what) {
  if (v < 0 || v > 0x7fffffff) throw std::invalid_argument(std::string("gemm: ") + what +
                                                           " out of cuBLAS's int range");
  return static_cast<int>(v);
}

cublasOperation_t op(bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }

// Row-major C[M,N] = op(A) op(B) is column-major C^T[N,M] = op(B)^T op(A)^T: swap the operands
// and the M/N roles; the leading dimensions stay the row strides.
template <typename TIn, typename TOut>
void gemm_ex(Context& ctx, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
             const TIn* A, int64_t lda, const TIn* B, int64_t ldb, float beta, TOut* C,
             int64_t ldc) {
  if (M == 0 || N == 0) return;
  WB_CUBLAS_CHECK(cublasGemmEx(ctx.blas.get(), op(tb), op(ta), as_int(N, "N"), as_int(M, "M"),
                               as_int(K, "K"), &alpha, B, cuda_type<TIn>(), as_int(ldb, "ldb"), A,
                               cuda_type<TIn>(), as_int(lda, "lda"), &beta, C, cuda_type<TOut>(),
                               as_int(ldc, "ldc"), compute_type<TIn>(), CUBLAS_GEMM_DEFAULT));
}

}  // namespace
}  // namespace wb::cuda

namespace wb::kernels {
using namespace wb::cuda;

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, acc_t<T> alpha,
          const T* A, int64_t lda, const T* B, int64_t ldb, acc_t<T> beta, T* C, int64_t ldc,
          Context& ctx) {
  gemm_ex<T, T>(ctx, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <typename T>
void gemm_f32out(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                 float alpha, const T* A, int64_t lda, const T* B, int64_t ldb, float beta,
                 float* C, int64_t ldc, Context& ctx) {
  gemm_ex<T, float>(ctx, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

namespace {
template <typename T, typename TOut>
void strided_batched_ex(Context& ctx, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                        float alpha, const T* A, int64_t lda, int64_t stride_a, const T* B,
                        int64_t ldb, int64_t stride_b, float beta, TOut* C, int64_t ldc,
                        int64_t stride_c, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  WB_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
      ctx.blas.get(), op(trans_b), op(trans_a), as_int(N, "N"), as_int(M, "M"), as_int(K, "K"),
      &alpha, B, cuda_type<T>(), as_int(ldb, "ldb"), stride_b, A, cuda_type<T>(),
      as_int(lda, "lda"), stride_a, &beta, C, cuda_type<TOut>(), as_int(ldc, "ldc"), stride_c,
      as_int(batch, "batch"), compute_type<T>(), CUBLAS_GEMM_DEFAULT));
}
}  // namespace

template <typename T>
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N,
                          int64_t K, float alpha, const T* A, int64_t lda, int64_t stride_a,
                          const T* B, int64_t ldb, int64_t stride_b, float beta, T* C,
                          int64_t ldc, int64_t stride_c, int64_t batch, Context& ctx) {
  strided_batched_ex<T, T>(ctx, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb,
                           stride_b, beta, C, ldc, stride_c, batch);
}

template <typename T>
void gemm_strided_batched_f32out(bool trans_a, bool trans_b, int64_t M, int64_t N,
                                 int64_t K, float alpha, const T* A, int64_t lda,
                                 int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b,
                                 float beta, float* C, int64_t ldc, int64_t stride_c,
                                 int64_t batch, Context& ctx) {
  strided_batched_ex<T, float>(ctx, trans_a, trans_b, M, N, K, alpha, A, lda, stride_a, B, ldb,
                               stride_b, beta, C, ldc, stride_c, batch);
}

template <typename T>
void linear_forward(T* y, const T* x, const T* w, int64_t n, int64_t in,
                    int64_t out, bool accumulate, Context& ctx) {
  gemm<T>(false, true, n, out, in, 1.0f, x, in, w, in, accumulate ? 1.0f : 0.0f, y, out, ctx);
}

template <typename T>
void linear_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, int64_t n,
                     int64_t in, int64_t out, bool accumulate, Context& ctx) {
  const float beta = accumulate ? 1.0f : 0.0f;
  if (dx) gemm<T>(false, false, n, in, out, 1.0f, dy, out, w, in, beta, dx, in, ctx);
  if (dw) gemm<T>(true, false, out, in, n, 1.0f, dy, out, x, in, beta, dw, in, ctx);
}

#define WB_INST(T)                                                                              \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, float, const T*,       \
                        int64_t, const T*, int64_t, float, T*, int64_t, Context&);                        \
  template void gemm_f32out<T>(bool, bool, int64_t, int64_t, int64_t, float,          \
                               const T*, int64_t, const T*, int64_t, float, float*, int64_t, Context&);   \
  template void gemm_strided_batched<T>(bool, bool, int64_t, int64_t, int64_t, float, \
                                        const T*, int64_t, int64_t, const T*, int64_t, int64_t, \
                                        float, T*, int64_t, int64_t, int64_t, Context&);                  \
  template void gemm_strided_batched_f32out<T>(bool, bool, int64_t, int64_t, int64_t, \
                                               float, const T*, int64_t, int64_t, const T*,     \
                                               int64_t, int64_t, float, float*, int64_t,        \
                                               int64_t, int64_t, Context&);                               \
  template void linear_forward<T>(T*, const T*, const T*, int64_t, int64_t, int64_t,  \
                                  bool, Context&);                                                        \
  template void linear_backward<T>(T*, T*, const T*, const T*, const T*, int64_t,     \
                                   int64_t, int64_t, bool, Context&);
WB_INST(float)
WB_INST(fp16)
WB_INST(bf16)
#undef WB_INST

}  // namespace wb::kernels
