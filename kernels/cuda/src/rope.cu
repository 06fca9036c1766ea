// Rotary embedding, HF rotate-half: forward rotates by +angle, backward by -angle.
#include "common.cuh"
#include "wb/cuda/stream.h"
#include "wb/kernels/rope.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kThreads = 256;

// One thread per (row, head, i < hd/2) pair: (a, b) = (x[i], x[i+hd/2]) ->
// (a cos - b sin, b cos + a sin), with sin negated for the backward.
template <typename T>
__global__ void rope_kernel(T* x, int64_t ld, const int32_t* positions, int64_t n,
                            int64_t n_heads, int64_t head_dim, float theta, float sign) {
  const int64_t half = head_dim / 2;
  const int64_t total = n * n_heads * half;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t % half;
    const int64_t h = (t / half) % n_heads;
    const int64_t row = t / (half * n_heads);
    float c, s;
    dev::rope_cos_sin(positions[row], i, head_dim, theta, c, s);
    s *= sign;
    T* p = x + row * ld + h * head_dim;
    const float a = to_f(p[i]), b = to_f(p[i + half]);
    p[i] = from_f<T>(a * c - b * s);
    p[i + half] = from_f<T>(b * c + a * s);
  }
}

template <typename T>
void rope_launch(Context& ctx, T* x, int64_t ld, const int32_t* positions, int64_t n,
                 int64_t n_heads, int64_t head_dim, float theta, float sign) {
  const int64_t total = n * n_heads * (head_dim / 2);
  if (total <= 0) return;
  rope_kernel<<<blocks_for(total, kThreads), kThreads, 0, ctx.s()>>>(x, ld, positions, n, n_heads,
                                                                     head_dim, theta, sign);
  WB_CUDA_CHECK_LAUNCH();
}

__global__ void rope_table_kernel(float* cs, const int32_t* positions, int64_t n,
                                  int64_t head_dim, float theta) {
  const int64_t half = head_dim / 2;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n * half;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t % half, row = t / half;
    dev::rope_cos_sin(positions[row], i, head_dim, theta, cs[2 * t], cs[2 * t + 1]);
  }
}

template <typename T>
__global__ void rope_table_apply_kernel(T* x, int64_t ld, const float* cs, int64_t n,
                                        int64_t n_heads, int64_t head_dim, float sign) {
  const int64_t half = head_dim / 2;
  const int64_t total = n * n_heads * half;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < total;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t % half;
    const int64_t h = (t / half) % n_heads;
    const int64_t row = t / (half * n_heads);
    const float c = cs[2 * (row * half + i)], s = cs[2 * (row * half + i) + 1] * sign;
    T* p = x + row * ld + h * head_dim;
    const float a = to_f(p[i]), b = to_f(p[i + half]);
    p[i] = from_f<T>(a * c - b * s);
    p[i + half] = from_f<T>(b * c + a * s);
  }
}

template <typename T>
void rope_table_launch(Context& ctx, T* x, int64_t ld, const float* cs, int64_t n,
                       int64_t n_heads, int64_t head_dim, float sign) {
  const int64_t total = n * n_heads * (head_dim / 2);
  if (total <= 0) return;
  rope_table_apply_kernel<<<blocks_for(total, kThreads), kThreads, 0, ctx.s()>>>(
      x, ld, cs, n, n_heads, head_dim, sign);
  WB_CUDA_CHECK_LAUNCH();
}

}  // namespace
}  // namespace wb::cuda

namespace wb::kernels {
using namespace wb::cuda;

// theta arrives as double (the one signature of wb/kernels/rope.h) and is rounded to fp32 as
// the table has always been computed, so the bits do not change.
void rope_table(float* cs, const int32_t* positions, int64_t n, int64_t head_dim,
                double theta_in, Context& ctx) {
  const float theta = static_cast<float>(theta_in);
  const int64_t total = n * (head_dim / 2);
  if (total <= 0) return;
  rope_table_kernel<<<blocks_for(total, kThreads), kThreads, 0, ctx.s()>>>(cs, positions, n,
                                                                           head_dim, theta);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void rope_forward_table(T* x, int64_t ld, const float* cs, int64_t n,
                        int64_t n_heads, int64_t head_dim, Context& ctx) {
  rope_table_launch(ctx, x, ld, cs, n, n_heads, head_dim, 1.0f);
}

template <typename T>
void rope_backward_table(T* dx, int64_t ld, const float* cs, int64_t n,
                         int64_t n_heads, int64_t head_dim, Context& ctx) {
  rope_table_launch(ctx, dx, ld, cs, n, n_heads, head_dim, -1.0f);
}

template <typename T>
void rope_forward(T* x, int64_t ld, const int32_t* positions, int64_t n,
                  int64_t n_heads, int64_t head_dim, double theta, Context& ctx) {
  rope_launch(ctx, x, ld, positions, n, n_heads, head_dim, float(theta), 1.0f);
}

template <typename T>
void rope_backward(T* dx, int64_t ld, const int32_t* positions, int64_t n,
                   int64_t n_heads, int64_t head_dim, double theta, Context& ctx) {
  rope_launch(ctx, dx, ld, positions, n, n_heads, head_dim, float(theta), -1.0f);
}

#define WB_INST(T)                                                                          \
  template void rope_forward<T>(T*, int64_t, const int32_t*, int64_t, int64_t,    \
                                int64_t, double, Context&);                                            \
  template void rope_backward<T>(T*, int64_t, const int32_t*, int64_t, int64_t,   \
                                 int64_t, double, Context&);                                           \
  template void rope_forward_table<T>(T*, int64_t, const float*, int64_t, int64_t, \
                                      int64_t, Context&);                                             \
  template void rope_backward_table<T>(T*, int64_t, const float*, int64_t, int64_t, \
                                       int64_t, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
