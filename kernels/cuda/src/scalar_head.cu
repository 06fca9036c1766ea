// Scalar head: a dot product per sequence (forward) and its three gradients (backward).
#include "common.cuh"
#include "wb/cuda/stream.h"
#include "wb/kernels/scalar_head.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kWarps = 4;

template <typename T>
__global__ void head_forward_kernel(float* r, const T* h, const int32_t* index, int64_t n_seqs,
                                    const T* w, float b, int64_t d) {
  const int lane = threadIdx.x % 32;
  const int64_t s = blockIdx.x * int64_t(kWarps) + threadIdx.x / 32;
  if (s >= n_seqs) return;
  const T* row = h + int64_t(index[s]) * d;
  float acc = 0.0f;
  for (int64_t c = lane; c < d; c += 32) acc += to_f(row[c]) * to_f(w[c]);
  acc = dev::warp_sum(acc);
  if (lane == 0) r[s] = acc + b;
}

// One thread per column c: dw[c] += sum_s dr_s h[index_s, c] (sequences in order, deterministic),
// dh[index_s, c] += dr_s w[c]. Thread 0 also sums db. Rows index_s are distinct per sequence.
template <typename T>
__global__ void head_backward_kernel(float* dw, float* db, T* dh, const float* dr, const T* h,
                                     const int32_t* index, int64_t n_seqs, const T* w,
                                     int64_t d) {
  for (int64_t c = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; c < d;
       c += int64_t(gridDim.x) * blockDim.x) {
    float acc = 0.0f;
    for (int64_t s = 0; s < n_seqs; ++s) {
      const int64_t row = index[s];
      acc += dr[s] * to_f(h[row * d + c]);
      if (dh) dh[row * d + c] = from_f<T>(to_f(dh[row * d + c]) + dr[s] * to_f(w[c]));
    }
    if (dw) dw[c] += acc;
  }
  if (db && blockIdx.x == 0 && threadIdx.x == 0) {
    float acc = 0.0f;
    for (int64_t s = 0; s < n_seqs; ++s) acc += dr[s];
    *db += acc;
  }
}

}  // namespace
}  // namespace wb::cuda

namespace wb::kernels {
using namespace wb::cuda;

template <typename T>
void scalar_head_forward(acc_t<T>* r, const T* h, const int32_t* index,
                         int64_t n_seqs, const T* w, acc_t<T> b, int64_t d, Context& ctx) {
  if (n_seqs <= 0) return;
  head_forward_kernel<<<blocks_exact(n_seqs, kWarps), 32 * kWarps, 0, ctx.s()>>>(r, h, index,
                                                                              n_seqs, w, b, d);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void scalar_head_backward(acc_t<T>* dw, acc_t<T>* db, T* dh, const acc_t<T>* dr, const T* h,
                          const int32_t* index, int64_t n_seqs, const T* w, int64_t d, Context& ctx) {
  if (n_seqs <= 0 || (!dw && !db && !dh)) return;
  head_backward_kernel<<<blocks_for(d, 256), 256, 0, ctx.s()>>>(dw, db, dh, dr, h, index, n_seqs,
                                                                w, d);
  WB_CUDA_CHECK_LAUNCH();
}

#define WB_INST(T)                                                                            \
  template void scalar_head_forward<T>(float*, const T*, const int32_t*, int64_t,   \
                                       const T*, float, int64_t, Context&);                             \
  template void scalar_head_backward<T>(float*, float*, T*, const float*, const T*, \
                                        const int32_t*, int64_t, const T*, int64_t, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
