// Rotary position embedding on device, HF rotate-half layout, mirroring wb/kernels/rope.h:
// inside each head, element i < hd/2 pairs with i + hd/2 and the pair is rotated by
// pos * theta^(-2i/hd). The angle is computed in double from (pos, i) on the fly, as the CPU
// does, so no table is needed and long positions lose no accuracy.
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

// In place on x[n, n_heads*head_dim] (row stride ld); positions[n] in device memory.
template <typename T>
void rope_forward(Context& ctx, T* x, int64_t ld, const int32_t* positions, int64_t n,
                  int64_t n_heads, int64_t head_dim, float theta);

// The inverse rotation, in place on dx (not accumulating), as on the CPU.
template <typename T>
void rope_backward(Context& ctx, T* dx, int64_t ld, const int32_t* positions, int64_t n,
                   int64_t n_heads, int64_t head_dim, float theta);

// The same rotations from a table computed once per batch (the angles in double cost far more
// than the rotation itself, and every layer repeats them): cs[row, i] = (cos, sin) of
// positions[row] * theta^(-2i/hd), fp32, 2*(hd/2) floats per row, the values rope_forward uses,
// so the table variants give the same bits.
void rope_table(Context& ctx, float* cs, const int32_t* positions, int64_t n, int64_t head_dim,
                float theta);
template <typename T>
void rope_forward_table(Context& ctx, T* x, int64_t ld, const float* cs, int64_t n,
                        int64_t n_heads, int64_t head_dim);
template <typename T>
void rope_backward_table(Context& ctx, T* dx, int64_t ld, const float* cs, int64_t n,
                         int64_t n_heads, int64_t head_dim);

}  // namespace wb::cuda
