// GEMM and the linear layer built on it. Every matrix product of the engine goes through gemm()
// (cblas_sgemm / cblas_dgemm on the CPU backend, cuBLAS on the CUDA backend).
//
// Conventions shared by every header in wb/kernels/:
//   * Matrices are row-major; a "linear" weight W has the HF/PyTorch shape [out, in].
//   * Ops are plain functions on raw pointers and sizes, templated on the scalar type T, with
//     float and double instantiated (double lets tests check gradients by finite differences).
//   * Pointers are in the backend's memory (host for cpu/, device for cuda/) unless a parameter
//     says "host".
//   * Backward functions ACCUMULATE (+=) into every gradient they write (llm.c style), so a
//     gradient fed by several paths (residual stream, GQA heads, tied embeddings) is the sum of
//     the calls; callers zero gradient buffers once per step. A nullable gradient pointer means
//     "not needed" (frozen input or weight) and its product is skipped.
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major, with leading dimensions
// (row strides) lda/ldb/ldc, op(X) = X or X^T. Strides let callers address a head's columns
// inside a packed [rows, heads*head_dim] matrix without copying. The CUDA overload runs cuBLAS
// in fp32 compute (tensor cores for 16-bit T) as the column-major C^T = op(B)^T op(A)^T.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, acc_t<T> alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, acc_t<T> beta, T* C, int64_t ldc);
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, acc_t<T> alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, acc_t<T> beta, T* C, int64_t ldc,
          cuda::Context& ctx);

// y[n,out] = x[n,in] * W^T (W is [out,in]); accumulate=true adds into y instead.
template <typename T>
void linear_forward(T* y, const T* x, const T* w, int64_t n, int64_t in, int64_t out,
                    bool accumulate = false);
template <typename T>
void linear_forward(T* y, const T* x, const T* w, int64_t n, int64_t in, int64_t out,
                    bool accumulate, cuda::Context& ctx);

// dx[n,in] += dy[n,out] * W;  dw[out,in] += dy^T * x.  Either output may be null.
// accumulate = false overwrites dx and dw instead (the caller need not zero them first).
template <typename T>
void linear_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, int64_t n, int64_t in,
                     int64_t out, bool accumulate = true);
template <typename T>
void linear_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, int64_t n, int64_t in,
                     int64_t out, bool accumulate, cuda::Context& ctx);

// ---- CUDA only ----------------------------------------------------------------------------
// cuBLAS variants that the CPU backend does not need (it has no 16-bit storage to widen and no
// launch overhead to batch away).
// gemm with an fp32 output C: gradients of fp32 master weights (LoRA A/B) from 16-bit
// activations without rounding the accumulation to the storage type.
template <typename T>
void gemm_f32out(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
                 const T* A, int64_t lda, const T* B, int64_t ldb, float beta, float* C,
                 int64_t ldc, cuda::Context& ctx);
// batch independent products; matrix b of X starts at X + b * stride_x.
template <typename T>
void gemm_strided_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                          float alpha, const T* A, int64_t lda, int64_t stride_a, const T* B,
                          int64_t ldb, int64_t stride_b, float beta, T* C, int64_t ldc,
                          int64_t stride_c, int64_t batch, cuda::Context& ctx);
// The same batched product with an fp32 C (attention scores from 16-bit q/k).
template <typename T>
void gemm_strided_batched_f32out(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                                 float alpha, const T* A, int64_t lda, int64_t stride_a,
                                 const T* B, int64_t ldb, int64_t stride_b, float beta, float* C,
                                 int64_t ldc, int64_t stride_c, int64_t batch,
                                 cuda::Context& ctx);

}  // namespace wb::kernels
