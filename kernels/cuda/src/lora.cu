// LoRA: single-adapter forward/backward on cuBLAS, grouped mixed-adapter forward as two plain
// kernels (shrink, expand). See wb/cuda/lora.h.
#include "common.cuh"
#include "wb/cuda/stream.h"
#include "wb/kernels/gemm.h"
#include "wb/kernels/lora.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kWarps = 4;

// tmp[i, kk] = sum_c x[i, c] * A_a[kk, c] for kk < rank_a (0 up to max_rank); one warp each.
template <typename T>
__global__ void lora_shrink_kernel(T* tmp, const T* x, const int32_t* adapter_of,
                                   const T* const* A_ptrs, const int32_t* ranks, int64_t n,
                                   int64_t in, int64_t max_rank) {
  const int lane = threadIdx.x % 32;
  const int64_t item = blockIdx.x * int64_t(kWarps) + threadIdx.x / 32;
  if (item >= n * max_rank) return;
  const int64_t i = item / max_rank, kk = item % max_rank;
  const int32_t a = adapter_of[i];
  float s = 0.0f;
  if (a >= 0 && kk < ranks[a]) {
    const T* Arow = A_ptrs[a] + kk * in;
    const T* xr = x + i * in;
    for (int64_t c = lane; c < in; c += 32) s += to_f(xr[c]) * to_f(Arow[c]);
    s = dev::warp_sum(s);
  }
  if (lane == 0) tmp[i * max_rank + kk] = from_f<T>(s);
}

// y[i, o] += scale_a * sum_kk tmp[i, kk] * B_a[o, kk]; one thread per (i, o).
template <typename T>
__global__ void lora_expand_kernel(T* y, const T* tmp, const int32_t* adapter_of,
                                   const T* const* B_ptrs, const int32_t* ranks,
                                   const float* scales, int64_t n, int64_t out,
                                   int64_t max_rank) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n * out;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t / out, o = t % out;
    const int32_t a = adapter_of[i];
    if (a < 0) continue;
    const int32_t r = ranks[a];
    const T* Brow = B_ptrs[a] + o * r;
    float s = 0.0f;
    for (int32_t kk = 0; kk < r; ++kk) s += to_f(tmp[i * max_rank + kk]) * to_f(Brow[kk]);
    y[t] = from_f<T>(to_f(y[t]) + scales[a] * s);
  }
}

}  // namespace
}  // namespace wb::cuda

namespace wb::kernels {
using namespace wb::cuda;

template <typename T>
void lora_forward(T* y, T* tmp, const T* x, const T* A, const T* B, int64_t n,
                  int64_t in, int64_t out, int64_t r, acc_t<T> scale, Context& ctx) {
  gemm<T>(false, true, n, r, in, 1.0f, x, in, A, in, 0.0f, tmp, r, ctx);        // tmp = x A^T
  gemm<T>(false, true, n, out, r, scale, tmp, r, B, r, 1.0f, y, out, ctx);      // y += s tmp B^T
}

template <typename T>
void lora_backward(T* dx, acc_t<T>* dA, acc_t<T>* dB, T* dtmp, const T* dy, const T* x,
                   const T* tmp, const T* A, const T* B, int64_t n, int64_t in, int64_t out,
                   int64_t r, acc_t<T> scale, Context& ctx) {
  if (dB) gemm_f32out<T>(true, false, out, r, n, scale, dy, out, tmp, r, 1.0f, dB, r, ctx);
  gemm<T>(false, false, n, r, out, scale, dy, out, B, r, 0.0f, dtmp, r, ctx);   // dtmp = s dy B
  if (dA) gemm_f32out<T>(true, false, r, in, n, 1.0f, dtmp, r, x, in, 1.0f, dA, in, ctx);
  if (dx) gemm<T>(false, false, n, in, r, 1.0f, dtmp, r, A, in, 1.0f, dx, in, ctx);
}

template <typename T>
void lora_grouped_forward(T* y, T* tmp, const T* x, const int32_t* adapter_of,
                          const T* const* A_ptrs, const T* const* B_ptrs, const int32_t* ranks,
                          const float* scales, int64_t n, int64_t in, int64_t out,
                          int64_t max_rank, Context& ctx) {
  if (n <= 0 || max_rank <= 0) return;
  lora_shrink_kernel<<<blocks_exact(n * max_rank, kWarps), 32 * kWarps, 0, ctx.s()>>>(
      tmp, x, adapter_of, A_ptrs, ranks, n, in, max_rank);
  WB_CUDA_CHECK_LAUNCH();
  lora_expand_kernel<<<blocks_for(n * out, 256), 256, 0, ctx.s()>>>(y, tmp, adapter_of, B_ptrs,
                                                                    ranks, scales, n, out,
                                                                    max_rank);
  WB_CUDA_CHECK_LAUNCH();
}

#define WB_INST(T)                                                                              \
  template void lora_forward<T>(T*, T*, const T*, const T*, const T*, int64_t, int64_t, \
                                int64_t, int64_t, float, Context&);                                       \
  template void lora_backward<T>(T*, float*, float*, T*, const T*, const T*, const T*, \
                                 const T*, const T*, int64_t, int64_t, int64_t, int64_t, float, Context&); \
  template void lora_grouped_forward<T>(T*, T*, const T*, const int32_t*,             \
                                        const T* const*, const T* const*, const int32_t*,       \
                                        const float*, int64_t, int64_t, int64_t, int64_t, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
