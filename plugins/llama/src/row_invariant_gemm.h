// Private to the engine (src/): a matrix product whose rows never depend on each other.
//
//   row_invariant_gemm_nt(M, N, K, alpha, A, B, beta, C):  C[M,N] = alpha * A[M,K] B[N,K]^T + beta * C
//
// Every element of C is ONE dot product over k in a fixed order — 16 interleaved partial sums
// (lane j takes k = j, j+16, ...), added by a fixed tree, then the K % 16 tail in order — computed
// the same way whatever M is and wherever its row sits. So a row's result is bit-identical
// whether it is multiplied alone or among other rows, which BLAS does not promise (one row goes
// to gemv, small shapes to small-matrix kernels, each rounding differently). Serving uses it for
// batch-invariant decoding (ForwardOptions::row_invariant).
//
// Speed: B (the weight) is streamed once for all rows — blocks of 4 rows by 4 columns share
// each load of A and of B in registers — so one row costs about what gemv costs and a decode
// batch (2..64 rows) less than sgemm, which repacks B on every call; OpenMP splits the columns
// of C (each element still has one owner). The decoder also uses it where batch invariance is
// off, for the batch sizes where it is the fastest product (ForwardOptions::stream_rows).
// The float path uses AVX-512 when the CPU has it (chosen once per process), else plain loops.
#pragma once

#include <cstdint>

namespace wb::llama::detail {

template <typename T>
void row_invariant_gemm_nt(int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C);

}  // namespace wb::llama::detail
