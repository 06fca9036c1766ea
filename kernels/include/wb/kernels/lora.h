// LoRA low-rank update of a linear layer (Hu et al. 2021; PEFT layout):
//   y[n,out] += scale * (x A^T) B^T      A: [r, in] (lora_A), B: [out, r] (lora_B)
// The intermediate t = x A^T [n, r] is kept for backward:
//   dt = scale * dy B       dB += scale * dy^T t       dA += dt^T x       dx += dt A
// x here is the LoRA branch input, i.e. already passed through dropout (see dropout.h).
// Multi-adapter batches call these once per contiguous row segment with that segment's A/B
// (grouped low-rank products after one shared base GEMM, as S-LoRA/Punica do).
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

// t[n,r] = x A^T; y += scale * t B^T.
template <typename T>
void lora_forward(T* y, T* t, const T* x, const T* A, const T* B, int64_t n, int64_t in,
                  int64_t out, int64_t r, acc_t<T> scale);
template <typename T>
void lora_forward(T* y, T* t, const T* x, const T* A, const T* B, int64_t n, int64_t in,
                  int64_t out, int64_t r, acc_t<T> scale, cuda::Context& ctx);

// dt_scratch: [n, r] elements (written). dx, dA, dB may be null (skipped). Accumulates.
// dA and dB are master-weight gradients (precision.h: fp32 for 16-bit T).
template <typename T>
void lora_backward(T* dx, acc_t<T>* dA, acc_t<T>* dB, T* dt_scratch, const T* dy, const T* x,
                   const T* t, const T* A, const T* B, int64_t n, int64_t in, int64_t out,
                   int64_t r, acc_t<T> scale);
template <typename T>
void lora_backward(T* dx, acc_t<T>* dA, acc_t<T>* dB, T* dt_scratch, const T* dy, const T* x,
                   const T* t, const T* A, const T* B, int64_t n, int64_t in, int64_t out,
                   int64_t r, acc_t<T> scale, cuda::Context& ctx);

// ---- CUDA only ----------------------------------------------------------------------------
// Grouped product for mixed-adapter batches (serving and RLHF, S-LoRA/Punica "BGMV") in one
// launch pair: row i uses adapter adapter_of[i] (< 0: none); adapter a's matrices are
// A_ptrs[a] / B_ptrs[a], all of rank <= max_rank, with its own scale. adapter_of[n],
// A_ptrs/B_ptrs/ranks/scales [n_adapters] are device arrays; tmp is [n, max_rank] scratch.
//   shrink:  tmp[i, k] = sum_c x[i, c] * A_a[k, c]            (one warp per (row, k))
//   expand:  y[i, o]  += scale_a * sum_k tmp[i, k] * B_a[o, k]  (one thread per (row, o))
// The CPU runs lora_forward once per contiguous row segment instead (no launch cost to save).
template <typename T>
void lora_grouped_forward(T* y, T* tmp, const T* x, const int32_t* adapter_of,
                          const T* const* A_ptrs, const T* const* B_ptrs, const int32_t* ranks,
                          const float* scales, int64_t n, int64_t in, int64_t out,
                          int64_t max_rank, cuda::Context& ctx);

}  // namespace wb::kernels
