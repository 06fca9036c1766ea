// Device-side helpers shared by the .cu files: fp32 load/store for every storage type, warp and
// block reductions, launch sizing, and the macro that instantiates an op for float/fp16/bf16.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>

#include "wb/cuda/check.h"
#include "wb/cuda/dtype.h"

namespace wb::cuda::dev {

__device__ __forceinline__ float to_f(float x) { return x; }
__device__ __forceinline__ float to_f(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_f(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_f(float x);
template <> __device__ __forceinline__ float from_f<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_f<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 from_f<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, <= 1024); every thread gets the result.
// `scratch` is 32 floats of shared memory; the call synchronizes the block.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read by a previous reduction
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nwarps ? scratch[lane] : 0.0f;
  return warp_sum(v);
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < nwarps ? scratch[lane] : -INFINITY;
  return warp_max(v);
}

// cos and sin of the RoPE angle pos * theta^(-2i/head_dim), computed in double as the CPU does
// (in fp32 the angle loses ~pos ulps), rounded to float. Every RoPE kernel takes them from here.
__device__ __forceinline__ void rope_cos_sin(int64_t pos, int64_t i, int64_t head_dim,
                                             float theta, float& c, float& s) {
  const double inv_freq = pow(double(theta), -2.0 * double(i) / double(head_dim));
  double sd, cd;
  sincos(double(pos) * inv_freq, &sd, &cd);
  c = float(cd);
  s = float(sd);
}

// Programmatic dependent launch (sm_90+, kernels launched with launch_pdl): pdl_trigger lets
// the next kernel in the stream launch as soon as every block of this one has run it;
// pdl_wait blocks until the previous kernel has finished and its writes are visible. A kernel
// may issue loads that do not depend on the previous kernel before pdl_wait. Every thread of a
// PDL kernel calls pdl_wait (before reading earlier results, and before exiting), which keeps
// the ordering transitive down the stream. Both are no-ops before sm_90.
__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

}  // namespace wb::cuda::dev

namespace wb::cuda {

// Blocks of `threads` covering `count` items, capped so grid-stride loops do the rest.
inline unsigned blocks_for(int64_t count, int threads) {
  int64_t b = (count + threads - 1) / threads;
  if (b < 1) b = 1;
  if (b > 65535 * 8) b = 65535 * 8;
  return static_cast<unsigned>(b);
}

// Blocks for kernels that give each block a fixed slice of items and do not loop: exactly
// ceil(count / per_block), which must fit the grid (2^31 - 1 blocks).
inline unsigned blocks_exact(int64_t count, int per_block) {
  const int64_t b = (count + per_block - 1) / per_block;
  if (b > 0x7fffffff) throw std::invalid_argument("kernel launch: too many items for one grid");
  return static_cast<unsigned>(b < 1 ? 1 : b);
}

// Whether launch_pdl asks for programmatic dependent launch: a device of compute capability
// 9.0 or newer, unless WB_CUDA_PDL=0 (decided once per process).
inline bool use_pdl() {
  static const bool on = [] {
    const char* env = std::getenv("WB_CUDA_PDL");
    if (env && std::string(env) == "0") return false;
    int dev = 0, major = 0;
    const bool ok = cudaGetDevice(&dev) == cudaSuccess &&
                    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) ==
                        cudaSuccess;
    cudaGetLastError();
    return ok && major >= 9;
  }();
  return on;
}

// kernel<<<grid, block, smem, stream>>>(args...) with the programmatic-stream-serialization
// attribute when use_pdl(); the kernel must call dev::pdl_wait() in every thread.
template <typename... Params, typename... Args>
void launch_pdl(void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t s,
                Args&&... args) {
  cudaLaunchConfig_t cfg = {};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = s;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = use_pdl() ? 1 : 0;
  WB_CUDA_CHECK(cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...));
}

}  // namespace wb::cuda

// Instantiates the template `X(T)` for the three storage types.
#define WB_FOR_EACH_DTYPE(X) X(float) X(__half) X(__nv_bfloat16)
