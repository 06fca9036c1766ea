// RMSNorm forward and backward: one block per row, fp32 sums.
#include "common.cuh"
#include "wb/cuda/stream.h"
#include "wb/kernels/rmsnorm.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kThreads = 256;

// y = x * r * w, r = 1/sqrt(mean(x^2) + eps)
template <typename T>
__global__ void rmsnorm_forward_kernel(T* y, float* rstd, const T* x, const T* w, int64_t n,
                                       int64_t d, float eps) {
  __shared__ float scratch[32];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    const T* xr = x + row * d;
    float ss = 0.0f;
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
      const float v = to_f(xr[c]);
      ss += v * v;
    }
    ss = dev::block_sum(ss, scratch);
    const float r = rsqrtf(ss / float(d) + eps);
    if (rstd && threadIdx.x == 0) rstd[row] = r;
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x)
      y[row * d + c] = from_f<T>(to_f(xr[c]) * r * to_f(w[c]));
  }
}

// dx += r * (g - xh * mean(g * xh)), g = dy * w, xh = x * r
template <typename T>
__global__ void rmsnorm_backward_dx_kernel(T* dx, const T* dy, const T* x, const T* w,
                                           const float* rstd, int64_t n, int64_t d) {
  __shared__ float scratch[32];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    const float r = rstd[row];
    float dot = 0.0f;
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x)
      dot += to_f(dy[row * d + c]) * to_f(w[c]) * to_f(x[row * d + c]) * r;
    const float mean_gxh = dev::block_sum(dot, scratch) / float(d);
    for (int64_t c = threadIdx.x; c < d; c += blockDim.x) {
      const float g = to_f(dy[row * d + c]) * to_f(w[c]);
      const float xh = to_f(x[row * d + c]) * r;
      dx[row * d + c] = from_f<T>(to_f(dx[row * d + c]) + r * (g - xh * mean_gxh));
    }
  }
}

// dw[c] += sum over rows of dy * xh: one thread per column, rows in order (deterministic).
template <typename T>
__global__ void rmsnorm_backward_dw_kernel(float* dw, const T* dy, const T* x, const float* rstd,
                                           int64_t n, int64_t d) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < d;
       c += int64_t(gridDim.x) * blockDim.x) {
    float acc = 0.0f;
    for (int64_t row = 0; row < n; ++row) acc += to_f(dy[row * d + c]) * to_f(x[row * d + c]) * rstd[row];
    dw[c] += acc;
  }
}

}  // namespace
}  // namespace wb::cuda

namespace wb::kernels {
using namespace wb::cuda;

template <typename T>
void rmsnorm_forward(T* y, acc_t<T>* rstd, const T* x, const T* w, int64_t n, int64_t d,
                     double eps_in, Context& ctx) {
  const float eps = static_cast<float>(eps_in);  // the kernels sum in fp32
  if (n <= 0) return;
  rmsnorm_forward_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(y, rstd, x, w, n, d, eps);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void rmsnorm_backward(T* dx, acc_t<T>* dw, const T* dy, const T* x, const T* w,
                      const acc_t<T>* rstd, int64_t n, int64_t d, Context& ctx) {
  if (n <= 0) return;
  if (dx) {
    rmsnorm_backward_dx_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(dx, dy, x, w, rstd, n,
                                                                            d);
    WB_CUDA_CHECK_LAUNCH();
  }
  if (dw) {
    rmsnorm_backward_dw_kernel<<<blocks_for(d, kThreads), kThreads, 0, ctx.s()>>>(dw, dy, x,
                                                                                   rstd, n, d);
    WB_CUDA_CHECK_LAUNCH();
  }
}

#define WB_INST(T)                                                                          \
  template void rmsnorm_forward<T>(T*, float*, const T*, const T*, int64_t, int64_t, \
                                   double, Context&);                                                  \
  template void rmsnorm_backward<T>(T*, float*, const T*, const T*, const T*,     \
                                    const float*, int64_t, int64_t, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
