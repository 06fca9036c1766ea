// AdamW on device: the same per-element update as kernels/cpu/adamw.cpp.
#include <cmath>

#include "common.cuh"
#include "wb/cuda/stream.h"
#include "wb/kernels/adamw.h"

namespace wb::cuda {
using wb::kernels::AdamWStep;
namespace {
using dev::from_f;

constexpr int kThreads = 256;

struct Coeffs {
  float lr, beta1, beta2, eps, wd, grad_scale, inv_bc1, inv_bc2;
};

Coeffs coeffs(const AdamWStep& s) {
  // Bias corrections in double on the host, as on the CPU.
  const double bc1 = 1.0 - std::pow(double(s.beta1), double(s.step));
  const double bc2 = 1.0 - std::pow(double(s.beta2), double(s.step));
  return {s.lr, s.beta1, s.beta2, s.eps, s.weight_decay, s.grad_scale, float(1.0 / bc1),
          float(1.0 / bc2)};
}

// T = void: no shadow copy.
template <typename T>
__global__ void adamw_kernel(float* param, T* shadow, const float* grad, float* m, float* v,
                             int64_t n, Coeffs k) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float g = grad[i] * k.grad_scale;
    const float mi = k.beta1 * m[i] + (1.0f - k.beta1) * g;
    const float vi = k.beta2 * v[i] + (1.0f - k.beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const float mhat = mi * k.inv_bc1, vhat = vi * k.inv_bc2;
    const float p = param[i] - k.lr * (mhat / (sqrtf(vhat) + k.eps) + k.wd * param[i]);
    param[i] = p;
    if constexpr (!std::is_void_v<T>) shadow[i] = from_f<T>(p);
  }
}

__global__ void sum_squares_kernel(float* out, const float* x, int64_t n) {
  __shared__ float scratch[32];
  float s = 0.0f;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    s += x[i] * x[i];
  s = dev::block_sum(s, scratch);
  if (threadIdx.x == 0) atomicAdd(out, s);
}

}  // namespace
}  // namespace wb::cuda

namespace wb::kernels {
using namespace wb::cuda;

void adamw_update(float* param, const float* grad, float* m, float* v, int64_t n,
                  const AdamWStep& s, Context& ctx) {
  if (n <= 0) return;
  adamw_kernel<void><<<blocks_for(n, kThreads), kThreads, 0, ctx.s()>>>(param, nullptr, grad, m,
                                                                         v, n, coeffs(s));
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void adamw_update_shadow(float* param, T* shadow, const float* grad, float* m,
                         float* v, int64_t n, const AdamWStep& s, Context& ctx) {
  if (n <= 0) return;
  adamw_kernel<T><<<blocks_for(n, kThreads), kThreads, 0, ctx.s()>>>(param, shadow, grad, m, v,
                                                                      n, coeffs(s));
  WB_CUDA_CHECK_LAUNCH();
}

void sum_squares(float* out, const float* x, int64_t n, Context& ctx) {
  WB_CUDA_CHECK(cudaMemsetAsync(out, 0, sizeof(float), ctx.s()));
  if (n <= 0) return;
  const unsigned blocks = blocks_for(n, kThreads) < 1024 ? blocks_for(n, kThreads) : 1024;
  sum_squares_kernel<<<blocks, kThreads, 0, ctx.s()>>>(out, x, n);
  WB_CUDA_CHECK_LAUNCH();
}

#define WB_INST(T)                                                                       \
  template void adamw_update_shadow<T>(float*, T*, const float*, float*, float*, \
                                       int64_t, const AdamWStep&, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
