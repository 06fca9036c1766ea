// GEMM on cuBLAS, row-major, mirroring wb/kernels/gemm.h (same argument order and meaning) with
// a Context first. Storage T is float, fp16 or bf16; cuBLAS computes in fp32 (CUBLAS_COMPUTE_32F,
// tensor cores for fp16/bf16); alpha/beta are float. Row-major C = op(A) op(B) is computed as
// the column-major C^T = op(B)^T op(A)^T, so no data is transposed.
//
// Backward functions ACCUMULATE into gradients (beta = 1), null gradient pointers are skipped,
// exactly as on the CPU backend.
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C (leading dimensions = row strides).
template <typename T>
void gemm(Context& ctx, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
          const T* A, int64_t lda, const T* B, int64_t ldb, float beta, T* C, int64_t ldc);

// Same product with an fp32 output C: gradients of fp32 master weights (LoRA A/B) from
// fp16/bf16 activations without rounding the accumulation to the storage type.
template <typename T>
void gemm_f32out(Context& ctx, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                 float alpha, const T* A, int64_t lda, const T* B, int64_t ldb, float beta,
                 float* C, int64_t ldc);

// batch independent products; matrix b of X starts at X + b * stride_x.
template <typename T>
void gemm_strided_batched(Context& ctx, bool trans_a, bool trans_b, int64_t M, int64_t N,
                          int64_t K, float alpha, const T* A, int64_t lda, int64_t stride_a,
                          const T* B, int64_t ldb, int64_t stride_b, float beta, T* C,
                          int64_t ldc, int64_t stride_c, int64_t batch);

// The same batched product with an fp32 C (attention scores from bf16 q/k).
template <typename T>
void gemm_strided_batched_f32out(Context& ctx, bool trans_a, bool trans_b, int64_t M, int64_t N,
                                 int64_t K, float alpha, const T* A, int64_t lda,
                                 int64_t stride_a, const T* B, int64_t ldb, int64_t stride_b,
                                 float beta, float* C, int64_t ldc, int64_t stride_c,
                                 int64_t batch);

// y[n,out] = x[n,in] * W^T (W is [out,in]); accumulate = true adds into y.
template <typename T>
void linear_forward(Context& ctx, T* y, const T* x, const T* w, int64_t n, int64_t in,
                    int64_t out, bool accumulate = false);

// dx[n,in] += dy * W;  dw[out,in] += dy^T * x.  Either output may be null. accumulate = false
// overwrites instead (the caller need not zero the outputs first).
template <typename T>
void linear_backward(Context& ctx, T* dx, T* dw, const T* dy, const T* x, const T* w, int64_t n,
                     int64_t in, int64_t out, bool accumulate = true);

}  // namespace wb::cuda
