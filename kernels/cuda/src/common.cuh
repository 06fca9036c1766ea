// Device-side helpers shared by the .cu files: fp32 load/store for every storage type, warp and
// block reductions, launch sizing, and the macro that instantiates an op for float/fp16/bf16.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <stdexcept>

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

}  // namespace wb::cuda

// Instantiates the template `X(T)` for the three storage types.
#define WB_FOR_EACH_DTYPE(X) X(float) X(__half) X(__nv_bfloat16)
