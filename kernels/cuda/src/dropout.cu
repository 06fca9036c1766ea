// Counter-based dropout: the mask is a pure function of (seed, index), identical to the CPU's.
#include "common.cuh"
#include "wb/cuda/stream.h"
#include "wb/kernels/dropout.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kThreads = 256;

__device__ __forceinline__ uint64_t splitmix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

__device__ __forceinline__ bool keep(uint64_t seed, uint64_t i, float p) {
  const uint64_t h = splitmix64(seed ^ splitmix64(i));
  return float(h >> 40) * (1.0f / 16777216.0f) >= p;  // top 24 bits in [0,1)
}

template <typename T>
__global__ void dropout_forward_kernel(T* y, const T* x, int64_t count, float p, uint64_t seed) {
  const float s = 1.0f / (1.0f - p);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    y[i] = from_f<T>(keep(seed, uint64_t(i), p) ? to_f(x[i]) * s : 0.0f);
}

template <typename T>
__global__ void dropout_backward_kernel(T* dx, const T* dy, int64_t count, float p,
                                        uint64_t seed) {
  const float s = 1.0f / (1.0f - p);
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < count;
       i += int64_t(gridDim.x) * blockDim.x)
    if (keep(seed, uint64_t(i), p)) dx[i] = from_f<T>(to_f(dx[i]) + to_f(dy[i]) * s);
}

}  // namespace
}  // namespace wb::cuda

namespace wb::kernels {
using namespace wb::cuda;

template <typename T>
void dropout_forward(T* y, const T* x, int64_t count, float p, uint64_t seed, Context& ctx) {
  if (count <= 0) return;
  dropout_forward_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(y, x, count, p,
                                                                                 seed);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void dropout_backward(T* dx, const T* dy, int64_t count, float p, uint64_t seed, Context& ctx) {
  if (count <= 0) return;
  dropout_backward_kernel<<<blocks_for(count, kThreads), kThreads, 0, ctx.s()>>>(dx, dy, count,
                                                                                  p, seed);
  WB_CUDA_CHECK_LAUNCH();
}

#define WB_INST(T)                                                                          \
  template void dropout_forward<T>(T*, const T*, int64_t, float, uint64_t, Context&);       \
  template void dropout_backward<T>(T*, const T*, int64_t, float, uint64_t, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
