// LoRA products: y += scale * (x A^T) B^T with A [r, in], B [out, r].
//
// Single adapter (training): the two thin GEMMs on cuBLAS, through tmp[n, r] = x A^T.
// Grouped (serving and RLHF, S-LoRA/Punica "BGMV"): a batch whose rows use different adapters
// after one shared base GEMM. Row i uses adapter adapter_of[i] (< 0: none); adapter a's matrices
// are A_ptrs[a] / B_ptrs[a], all of rank <= max_rank, with its own scale. Two plain kernels:
//   shrink:  tmp[i, k] = sum_c x[i, c] * A_a[k, c]            (one warp per (row, k))
//   expand:  y[i, o]  += scale_a * sum_k tmp[i, k] * B_a[o, k]  (one thread per (row, o))
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// y[n,out] += scale * (x[n,in] A^T) B^T; tmp is [n, r] scratch that keeps x A^T for backward.
template <typename T>
void lora_forward(Context& ctx, T* y, T* tmp, const T* x, const T* A, const T* B, int64_t n,
                  int64_t in, int64_t out, int64_t r, float scale);

// Gradients given dy [n,out] and the forward's tmp = x A^T:
//   dB[out,r] += scale * dy^T tmp          (fp32)
//   dtmp[n,r]  = scale * dy B               (scratch, written)
//   dA[r,in]  += dtmp^T x                   (fp32)
//   dx[n,in]  += dtmp A                      (may be null)
template <typename T>
void lora_backward(Context& ctx, T* dx, float* dA, float* dB, T* dtmp, const T* dy, const T* x,
                   const T* tmp, const T* A, const T* B, int64_t n, int64_t in, int64_t out,
                   int64_t r, float scale);

// Grouped product for mixed-adapter batches (see above). adapter_of[n], A_ptrs/B_ptrs/ranks/
// scales [n_adapters] are device arrays; tmp is [n, max_rank] scratch.
template <typename T>
void lora_grouped_forward(Context& ctx, T* y, T* tmp, const T* x, const int32_t* adapter_of,
                          const T* const* A_ptrs, const T* const* B_ptrs, const int32_t* ranks,
                          const float* scales, int64_t n, int64_t in, int64_t out,
                          int64_t max_rank);

}  // namespace wb::cuda
