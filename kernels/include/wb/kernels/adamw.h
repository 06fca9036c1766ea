// AdamW update (Loshchilov & Hutter, decoupled weight decay) over one flat fp32 parameter buffer.
//
//   g  = grad * grad_scale                      (grad_scale folds in 1/accumulation and clipping)
//   m  = beta1 * m + (1 - beta1) * g
//   v  = beta2 * v + (1 - beta2) * g^2
//   m^ = m / (1 - beta1^t),  v^ = v / (1 - beta2^t)      (bias correction, t = step >= 1)
//   p  = p - lr * (m^ / (sqrt(v^) + eps) + weight_decay * p)
//
// The state (m, v) is always fp32, whatever the storage type of the weights elsewhere.
// The update has no backward: it is the optimizer, applied after the backward pass.
#pragma once

#include <cstdint>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

struct AdamWStep {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // decoupled: multiplies lr * p, not added to the gradient
  int64_t step = 1;           // 1-based step number used for bias correction
  float grad_scale = 1.0f;    // applied to grad before it enters the moments
};

// Updates param[0..n) in place from grad[0..n), reading and writing the moments m and v.
// Each element is independent, so the loop is split across OpenMP threads; the result does not
// depend on the thread count (no reductions).
void adamw_update(float* param, const float* grad, float* m, float* v, int64_t n,
                  const AdamWStep& s);
void adamw_update(float* param, const float* grad, float* m, float* v, int64_t n,
                  const AdamWStep& s, cuda::Context& ctx);

// ---- CUDA only ----------------------------------------------------------------------------
// As adamw_update, and shadow[i] = T(param[i]) after the update: the 16-bit copy the forward
// pass reads (fp32 master weights, bf16 compute). The CPU computes in the weights' own type.
template <typename T>
void adamw_update_shadow(float* param, T* shadow, const float* grad, float* m, float* v,
                         int64_t n, const AdamWStep& s, cuda::Context& ctx);
// Sum of squares of x[0..n) into *out (device fp32, overwritten): gradient-norm clipping on the
// device without a host round trip per buffer.
void sum_squares(float* out, const float* x, int64_t n, cuda::Context& ctx);

}  // namespace wb::kernels
