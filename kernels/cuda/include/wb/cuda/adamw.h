// AdamW on device over one flat fp32 parameter buffer: the same update as wb/kernels/adamw.h
// (same AdamWStep), element by element. Optionally writes the updated parameter, rounded to the
// storage type, into a shadow copy the forward pass reads (fp32 master weights, bf16 compute).
#pragma once

#include <cstdint>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"
#include "wb/kernels/adamw.h"

namespace wb::cuda {

using wb::kernels::AdamWStep;

void adamw_update(Context& ctx, float* param, const float* grad, float* m, float* v, int64_t n,
                  const AdamWStep& s);

// As above, and shadow[i] = T(param[i]) after the update.
template <typename T>
void adamw_update_shadow(Context& ctx, float* param, T* shadow, const float* grad, float* m,
                         float* v, int64_t n, const AdamWStep& s);

// Sum of squares of x[0..n) into *out (device fp32, overwritten): for gradient-norm clipping.
void sum_squares(Context& ctx, float* out, const float* x, int64_t n);

}  // namespace wb::cuda
