// Elementwise ops: residual add, dtype conversion, SwiGLU forward/backward. Grid-stride loops.
#include "common.cuh"
#include "wb/cuda/elementwise.h"
#include "wb/kernels/add.h"
#include "wb/cuda/stream.h"
#include "wb/kernels/add.h"
#include "wb/kernels/swiglu.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kThreads = 256;

// Vectorized variants (16-byte loads, V = 16 / sizeof(T) elements per thread and step) for the
// large elementwise passes of training; the per-element math is the scalar kernels', so the bits
// are the same. Used when every pointer is 16-byte aligned and count is a multiple of V.
template <typename T>
constexpr int kVec = 16 / sizeof(T);

template <typename... P>
bool vec_ok(int64_t count, int v, const P*... ptrs) {
  bool ok = count % v == 0;
  ((ok = ok && (ptrs == nullptr || reinterpret_cast<uintptr_t>(ptrs) % 16 == 0)), ...);
  return ok;
}

template <typename T>
__global__ void add_kernel(T* y, const T* x, int64_t count) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f<T>(to_f(y[i]) + to_f(x[i]));
}

template <typename T>
__global__ void add_vec_kernel(T* y, const T* x, int64_t nvec) {
  constexpr int V = kVec<T>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < nvec;
       i += int64_t(gridDim.x) * blockDim.x) {
    uint4 yv = reinterpret_cast<const uint4*>(y)[i];
    const uint4 xv = reinterpret_cast<const uint4*>(x)[i];
    T* ye = reinterpret_cast<T*>(&yv);
    const T* xe = reinterpret_cast<const T*>(&xv);
#pragma unroll
    for (int e = 0; e < V; ++e) ye[e] = from_f<T>(to_f(ye[e]) + to_f(xe[e]));
    reinterpret_cast<uint4*>(y)[i] = yv;
  }
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

template <typename T>
__global__ void swiglu_forward_vec_kernel(T* h, const T* g, const T* u, int64_t nvec) {
  constexpr int V = kVec<T>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < nvec;
       i += int64_t(gridDim.x) * blockDim.x) {
    const uint4 gv = reinterpret_cast<const uint4*>(g)[i], uv = reinterpret_cast<const uint4*>(u)[i];
    const T* ge = reinterpret_cast<const T*>(&gv);
    const T* ue = reinterpret_cast<const T*>(&uv);
    uint4 hv;
    T* he = reinterpret_cast<T*>(&hv);
#pragma unroll
    for (int e = 0; e < V; ++e) {
      const float gi = to_f(ge[e]);
      he[e] = from_f<T>(gi * sigmoid(gi) * to_f(ue[e]));
    }
    reinterpret_cast<uint4*>(h)[i] = hv;
  }
}

// dg (+)= dh * u * s * (1 + g * (1 - s));  du (+)= dh * g * s   (acc: add to the old value)
template <typename T>
__global__ void swiglu_backward_kernel(T* dg, T* du, const T* dh, const T* g, const T* u,
                                       int64_t count, bool acc) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x) {
    const float gi = to_f(g[i]), ui = to_f(u[i]), d = to_f(dh[i]);
    const float s = sigmoid(gi);
    if (dg) dg[i] = from_f<T>((acc ? to_f(dg[i]) : 0.0f) + d * ui * s * (1.0f + gi * (1.0f - s)));
    if (du) du[i] = from_f<T>((acc ? to_f(du[i]) : 0.0f) + d * gi * s);
  }
}

template <typename T>
__global__ void swiglu_backward_vec_kernel(T* dg, T* du, const T* dh, const T* g, const T* u,
                                           int64_t nvec, bool acc) {
  constexpr int V = kVec<T>;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < nvec;
       i += int64_t(gridDim.x) * blockDim.x) {
    const uint4 gv = reinterpret_cast<const uint4*>(g)[i], uv = reinterpret_cast<const uint4*>(u)[i];
    const uint4 dv = reinterpret_cast<const uint4*>(dh)[i];
    const T* ge = reinterpret_cast<const T*>(&gv);
    const T* ue = reinterpret_cast<const T*>(&uv);
    const T* de = reinterpret_cast<const T*>(&dv);
    uint4 dgv = make_uint4(0, 0, 0, 0), duv = make_uint4(0, 0, 0, 0);
    if (dg && acc) dgv = reinterpret_cast<const uint4*>(dg)[i];
    if (du && acc) duv = reinterpret_cast<const uint4*>(du)[i];
    T* dge = reinterpret_cast<T*>(&dgv);
    T* due = reinterpret_cast<T*>(&duv);
#pragma unroll
    for (int e = 0; e < V; ++e) {
      const float gi = to_f(ge[e]), ui = to_f(ue[e]), d = to_f(de[e]);
      const float s = sigmoid(gi);
      dge[e] = from_f<T>((acc ? to_f(dge[e]) : 0.0f) + d * ui * s * (1.0f + gi * (1.0f - s)));
      due[e] = from_f<T>((acc ? to_f(due[e]) : 0.0f) + d * gi * s);
    }
    if (dg) reinterpret_cast<uint4*>(dg)[i] = dgv;
    if (du) reinterpret_cast<uint4*>(du)[i] = duv;
  }
}

}  // namespace

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

#define WB_INST(T)                                                                     \
  template void fill<T>(Context&, T*, float, int64_t);                                 \
  template void fill_normal<T>(Context&, T*, int64_t, float, uint64_t);
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

namespace wb::kernels {
using namespace wb::cuda;

template <typename T>
void add_inplace(T* y, const T* x, int64_t count, Context& ctx) {
  if (count <= 0) return;
  if (vec_ok(count, kVec<T>, y, x)) {
    const int64_t nvec = count / kVec<T>;
    add_vec_kernel<<<blocks_for(nvec, kThreads), kThreads, 0, ctx.s()>>>(y, x, nvec);
  } else {
    add_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(y, x, count);
  }
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void add(T* y, const T* a, const T* b, int64_t count, Context& ctx) {
  if (count <= 0) return;
  add3_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(y, a, b, count);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void axpy(T* y, acc_t<T> alpha, const T* x, int64_t count, Context& ctx) {
  if (count <= 0) return;
  axpby_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(y, alpha, x, 1.0f, count);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void scale(T* x, acc_t<T> alpha, int64_t count, Context& ctx) {
  if (count <= 0) return;
  axpby_kernel<T><<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(x, 0.0f, nullptr, alpha,
                                                                      count);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void swiglu_forward(T* h, const T* g, const T* u, int64_t count, Context& ctx) {
  if (count <= 0) return;
  if (vec_ok(count, kVec<T>, h, g, u)) {
    const int64_t nvec = count / kVec<T>;
    swiglu_forward_vec_kernel<<<blocks_for(nvec, kThreads), kThreads, 0, ctx.s()>>>(h, g, u, nvec);
  } else {
    swiglu_forward_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(h, g, u, count);
  }
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void swiglu_backward(T* dg, T* du, const T* dh, const T* g, const T* u,
                     int64_t count, bool accumulate, Context& ctx) {
  if (count <= 0 || (!dg && !du)) return;
  if (vec_ok(count, kVec<T>, dg, du, dh, g, u)) {
    const int64_t nvec = count / kVec<T>;
    swiglu_backward_vec_kernel<<<blocks_for(nvec, kThreads), kThreads, 0, ctx.s()>>>(
        dg, du, dh, g, u, nvec, accumulate);
  } else {
    swiglu_backward_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(
        dg, du, dh, g, u, count, accumulate);
  }
  WB_CUDA_CHECK_LAUNCH();
}

#define WB_INST(T)                                                                     \
  template void add_inplace<T>(T*, const T*, int64_t, Context&);                       \
  template void add<T>(T*, const T*, const T*, int64_t, Context&);                     \
  template void axpy<T>(T*, float, const T*, int64_t, Context&);                       \
  template void scale<T>(T*, float, int64_t, Context&);                                \
  template void swiglu_forward<T>(T*, const T*, const T*, int64_t, Context&);          \
  template void swiglu_backward<T>(T*, T*, const T*, const T*, const T*, int64_t,      \
                                   bool, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
