// Elementwise ops: residual add, dtype conversion, SwiGLU forward/backward. Grid-stride loops.
#include "common.cuh"
#include "wb/cuda/elementwise.h"
#include "wb/cuda/swiglu.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kThreads = 256;

template <typename T>
__global__ void add_kernel(T* y, const T* x, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f<T>(to_f(y[i]) + to_f(x[i]));
}

template <typename T>
__global__ void add3_kernel(T* y, const T* a, const T* b, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f<T>(to_f(a[i]) + to_f(b[i]));
}

// y = alpha * x + beta * y  (axpy: beta = 1; scale: x = y, alpha = 0)
template <typename T>
__global__ void axpby_kernel(T* y, float alpha, const T* x, float beta, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f<T>((x ? alpha * to_f(x[i]) : 0.0f) + beta * to_f(y[i]));
}

template <typename T>
__global__ void fill_kernel(T* x, float value, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    x[i] = from_f<T>(value);
}

__device__ __forceinline__ uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

template <typename T>
__global__ void fill_normal_kernel(T* x, int64_t count, float stddev, uint64_t seed) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const uint64_t h = mix64(seed ^ mix64(uint64_t(i)));
    const float u1 = (float(h >> 40) + 1.0f) * (1.0f / 16777217.0f);  // (0, 1]
    const float u2 = float((h >> 16) & 0xFFFFFF) * (1.0f / 16777216.0f);
    x[i] = from_f<T>(stddev * sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2));
  }
}

template <typename To, typename From>
__global__ void convert_kernel(To* dst, const From* src, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    dst[i] = from_f<To>(to_f(src[i]));
}

__device__ __forceinline__ float sigmoid(float g) { return 1.0f / (1.0f + __expf(-g)); }

// h = silu(g) * u
template <typename T>
__global__ void swiglu_forward_kernel(T* h, const T* g, const T* u, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float gi = to_f(g[i]);
    h[i] = from_f<T>(gi * sigmoid(gi) * to_f(u[i]));
  }
}

// dg += dh * u * s * (1 + g * (1 - s));  du += dh * g * s
template <typename T>
__global__ void swiglu_backward_kernel(T* dg, T* du, const T* dh, const T* g, const T* u,
                                       int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float gi = to_f(g[i]), ui = to_f(u[i]), d = to_f(dh[i]);
    const float s = sigmoid(gi);
    if (dg) dg[i] = from_f<T>(to_f(dg[i]) + d * ui * s * (1.0f + gi * (1.0f - s)));
    if (du) du[i] = from_f<T>(to_f(du[i]) + d * gi * s);
  }
}

}  // namespace

template <typename T>
void add_inplace(Context& ctx, T* y, const T* x, int64_t count) {
  if (count <= 0) return;
  add_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(y, x, count);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void add(Context& ctx, T* y, const T* a, const T* b, int64_t count) {
  if (count <= 0) return;
  add3_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(y, a, b, count);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void axpy(Context& ctx, T* y, float alpha, const T* x, int64_t count) {
  if (count <= 0) return;
  axpby_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(y, alpha, x, 1.0f, count);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void scale(Context& ctx, T* x, float alpha, int64_t count) {
  if (count <= 0) return;
  axpby_kernel<T><<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(x, 0.0f, nullptr, alpha,
                                                                      count);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void fill(Context& ctx, T* x, float value, int64_t count) {
  if (count <= 0) return;
  fill_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(x, value, count);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void fill_normal(Context& ctx, T* x, int64_t count, float stddev, uint64_t seed) {
  if (count <= 0) return;
  fill_normal_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(x, count, stddev,
                                                                            seed);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename To, typename From>
void convert(Context& ctx, To* dst, const From* src, int64_t count) {
  if (count <= 0) return;
  convert_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(dst, src, count);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void swiglu_forward(Context& ctx, T* h, const T* g, const T* u, int64_t count) {
  if (count <= 0) return;
  swiglu_forward_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(h, g, u, count);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void swiglu_backward(Context& ctx, T* dg, T* du, const T* dh, const T* g, const T* u,
                     int64_t count) {
  if (count <= 0 || (!dg && !du)) return;
  swiglu_backward_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(dg, du, dh, g, u,
                                                                                 count);
  WB_CUDA_CHECK_LAUNCH();
}

#define WB_INST(T)                                                                     \
  template void add_inplace<T>(Context&, T*, const T*, int64_t);                       \
  template void add<T>(Context&, T*, const T*, const T*, int64_t);                     \
  template void axpy<T>(Context&, T*, float, const T*, int64_t);                       \
  template void scale<T>(Context&, T*, float, int64_t);                                \
  template void fill<T>(Context&, T*, float, int64_t);                                 \
  template void fill_normal<T>(Context&, T*, int64_t, float, uint64_t);                \
  template void swiglu_forward<T>(Context&, T*, const T*, const T*, int64_t);          \
  template void swiglu_backward<T>(Context&, T*, T*, const T*, const T*, const T*, int64_t);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST
#define WB_INST_CONVERT(To, From) template void convert<To, From>(Context&, To*, const From*, int64_t);
WB_INST_CONVERT(float, float)
WB_INST_CONVERT(__half, float)
WB_INST_CONVERT(float, __half)
WB_INST_CONVERT(__nv_bfloat16, float)
WB_INST_CONVERT(float, __nv_bfloat16)
#undef WB_INST_CONVERT
template void convert<__half, __nv_bfloat16>(Context&, __half*, const __nv_bfloat16*, int64_t);
template void convert<__nv_bfloat16, __half>(Context&, __nv_bfloat16*, const __half*, int64_t);

}  // namespace wb::cuda
