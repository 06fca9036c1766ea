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

namespace wb::kernels {

// C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, row-major, with leading dimensions
// (row strides) lda/ldb/ldc, op(X) = X or X^T. Strides let callers address a head's columns
// inside a packed [rows, heads*head_dim] matrix without copying.
template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// y[n,out] = x[n,in] * W^T (W is [out,in]); accumulate=true adds into y instead.
template <typename T>
void linear_forward(T* y, const T* x, const T* w, int64_t n, int64_t in, int64_t out,
                    bool accumulate = false);

// dx[n,in] += dy[n,out] * W;  dw[out,in] += dy^T * x.  Either output may be null.
template <typename T>
void linear_backward(T* dx, T* dw, const T* dy, const T* x, const T* w, int64_t n, int64_t in,
                     int64_t out);

}  // namespace wb::kernels
