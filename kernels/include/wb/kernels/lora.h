// LoRA low-rank update of a linear layer (Hu et al. 2021; PEFT layout):
//   y[n,out] += scale * (x A^T) B^T      A: [r, in] (lora_A), B: [out, r] (lora_B)
// The intermediate t = x A^T [n, r] is kept for backward:
//   dt = scale * dy B       dB += scale * dy^T t       dA += dt^T x       dx += dt A
// x here is the LoRA branch input, i.e. already passed through dropout (see dropout.h).
// Multi-adapter batches call these once per contiguous row segment with that segment's A/B
// (grouped low-rank products after one shared base GEMM, as S-LoRA/Punica do).
#pragma once

#include <cstdint>

namespace wb::kernels {

// t[n,r] = x A^T; y += scale * t B^T.
template <typename T>
void lora_forward(T* y, T* t, const T* x, const T* A, const T* B, int64_t n, int64_t in,
                  int64_t out, int64_t r, T scale);

// dt_scratch: [n, r] elements. dx, dA, dB may be null (skipped). Accumulates.
template <typename T>
void lora_backward(T* dx, T* dA, T* dB, T* dt_scratch, const T* dy, const T* x, const T* t,
                   const T* A, const T* B, int64_t n, int64_t in, int64_t out, int64_t r,
                   T scale);

}  // namespace wb::kernels
