// Rotary position embedding, HF "rotate-half" layout (ARCHITECTURE.md §10): inside each head of
// head_dim = hd, element i pairs with i + hd/2 (i < hd/2) and the pair is rotated by the angle
// pos * theta^(-2i/hd):
//   out[i]        = x[i] * cos - x[i+hd/2] * sin
//   out[i+hd/2]   = x[i+hd/2] * cos + x[i] * sin
// Angles are computed in double and rounded to T. HF checkpoints' q_proj/k_proj are stored for
// this layout; Meta/GGUF interleaved weights must be permuted first (not done here).
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

// In place on x[n, n_heads*head_dim] (row stride ld elements, >= n_heads*head_dim);
// positions[n] are absolute positions (>= 0).
// positions are in the backend's memory. The CUDA overload rounds theta to fp32 (as its table
// does) and computes the angle in double from (pos, i) on the fly.
template <typename T>
void rope_forward(T* x, int64_t ld, const int32_t* positions, int64_t n, int64_t n_heads,
                  int64_t head_dim, double theta);
template <typename T>
void rope_forward(T* x, int64_t ld, const int32_t* positions, int64_t n, int64_t n_heads,
                  int64_t head_dim, double theta, cuda::Context& ctx);

// Backward of the rotation (the inverse rotation), in place on dx: the rotation is linear and
// orthogonal, so dx_in = R(-angle) dx_out. Not accumulating: it transforms the buffer it gets.
template <typename T>
void rope_backward(T* dx, int64_t ld, const int32_t* positions, int64_t n, int64_t n_heads,
                   int64_t head_dim, double theta);
template <typename T>
void rope_backward(T* dx, int64_t ld, const int32_t* positions, int64_t n, int64_t n_heads,
                   int64_t head_dim, double theta, cuda::Context& ctx);

// ---- CUDA only ----------------------------------------------------------------------------
// The same rotations from a table computed once per batch (the angles in double cost far more
// than the rotation on a GPU, and every layer repeats them): cs[row, i] = (cos, sin) of
// positions[row] * theta^(-2i/hd), fp32, 2*(hd/2) floats per row, the values rope_forward uses,
// so the table variants give the same bits. The CPU computes its angles inline: a table would
// only add a buffer there.
void rope_table(float* cs, const int32_t* positions, int64_t n, int64_t head_dim, double theta,
                cuda::Context& ctx);
template <typename T>
void rope_forward_table(T* x, int64_t ld, const float* cs, int64_t n, int64_t n_heads,
                        int64_t head_dim, cuda::Context& ctx);
template <typename T>
void rope_backward_table(T* dx, int64_t ld, const float* cs, int64_t n, int64_t n_heads,
                         int64_t head_dim, cuda::Context& ctx);

}  // namespace wb::kernels
