// Argmax and temperature/top-k/top-p sampling, one block per row. Thresholds are found by
// bisection (40 halvings of the value range) with block-wide counts, so no sort is needed:
//   top-k: the k-th largest scaled logit kth; kept = {c : z_c >= kth}
//   top-p: the largest probability threshold tau with mass{q_c >= tau} >= top_p; kept = {q_c >= tau}
// The draw walks the kept tokens in id order until the cumulative mass passes u * total.
#include "common.cuh"
#include "wb/cuda/sampling.h"

namespace wb::cuda {
namespace {
using dev::to_f;

constexpr int kThreads = 256;
constexpr int kBisect = 40;

// Block argmax with the lowest index on ties. Every thread gets the winning index.
__device__ int32_t block_argmax(float v, int32_t idx, float* sv, int32_t* si) {
  sv[threadIdx.x] = v;
  si[threadIdx.x] = idx;
  __syncthreads();
  for (int stride = blockDim.x / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) {
      const float ov = sv[threadIdx.x + stride];
      const int32_t oi = si[threadIdx.x + stride];
      if (ov > sv[threadIdx.x] || (ov == sv[threadIdx.x] && oi < si[threadIdx.x])) {
        sv[threadIdx.x] = ov;
        si[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  const int32_t best = si[0];
  __syncthreads();
  return best;
}

template <typename T>
__global__ void argmax_kernel(int32_t* out, const T* logits, int64_t n, int64_t vocab) {
  __shared__ float sv[kThreads];
  __shared__ int32_t si[kThreads];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    const T* x = logits + row * vocab;
    float best = -INFINITY;
    int32_t bi = INT32_MAX;
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) {
      const float v = to_f(x[c]);
      if (v > best) {  // strided in increasing c: the first max seen is the lowest index
        best = v;
        bi = int32_t(c);
      }
    }
    const int32_t r = block_argmax(best, bi, sv, si);
    if (threadIdx.x == 0) out[row] = r;
  }
}

template <typename T>
__global__ void sample_kernel(int32_t* out, const T* logits, const DeviceSampling* params,
                              const float* u, int64_t n, int64_t vocab) {
  __shared__ float sv[kThreads];
  __shared__ int32_t si[kThreads];
  __shared__ float scratch[32];
  for (int64_t row = blockIdx.x; row < n; row += gridDim.x) {
    const T* x = logits + row * vocab;
    const DeviceSampling p = params[row];
    if (!(p.temperature > 0.0f)) {  // greedy
      float best = -INFINITY;
      int32_t bi = INT32_MAX;
      for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x)
        if (to_f(x[c]) > best) best = to_f(x[c]), bi = int32_t(c);
      const int32_t r = block_argmax(best, bi, sv, si);
      if (threadIdx.x == 0) out[row] = r;
      continue;
    }
    const float inv_t = 1.0f / p.temperature;
    float zmax = -INFINITY, zmin = INFINITY;
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) {
      const float z = to_f(x[c]) * inv_t;
      zmax = fmaxf(zmax, z);
      zmin = fminf(zmin, z);
    }
    zmax = dev::block_max(zmax, scratch);
    zmin = -dev::block_max(-zmin, scratch);

    // top-k: bisection for the k-th largest z; invariant count(z >= lo) >= k > count(z >= hi).
    float zcut = -INFINITY;
    if (p.top_k > 0 && p.top_k < vocab) {
      float lo = zmin, hi = zmax + 1.0f;
      for (int it = 0; it < kBisect; ++it) {
        const float mid = 0.5f * (lo + hi);
        float cnt = 0.0f;
        for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) cnt += to_f(x[c]) * inv_t >= mid;
        cnt = dev::block_sum(cnt, scratch);
        if (cnt >= float(p.top_k)) lo = mid; else hi = mid;
      }
      float kth = INFINITY;  // smallest z that is >= lo: the k-th largest value itself
      for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) {
        const float z = to_f(x[c]) * inv_t;
        if (z >= lo) kth = fminf(kth, z);
      }
      zcut = -dev::block_max(-kth, scratch);
    }

    // Unnormalized probabilities e_c = exp(z_c - zmax) over the top-k set, and their mass.
    float mass = 0.0f;
    for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) {
      const float z = to_f(x[c]) * inv_t;
      if (z >= zcut) mass += __expf(z - zmax);
    }
    mass = dev::block_sum(mass, scratch);

    // top-p: largest tau (in units of e) with mass{e >= tau} >= top_p * mass.
    float ecut = 0.0f;
    if (p.top_p < 1.0f) {
      float lo = 0.0f, hi = 1.0f + 1e-6f;  // e <= 1 (the max has e = 1)
      for (int it = 0; it < kBisect; ++it) {
        const float mid = 0.5f * (lo + hi);
        float mm = 0.0f;
        for (int64_t c = threadIdx.x; c < vocab; c += blockDim.x) {
          const float z = to_f(x[c]) * inv_t;
          const float e = __expf(z - zmax);
          if (z >= zcut && e >= mid) mm += e;
        }
        mm = dev::block_sum(mm, scratch);
        if (mm >= p.top_p * mass) lo = mid; else hi = mid;
      }
      ecut = lo;
    }

    // Final kept mass, then the draw in id order: each thread owns a contiguous chunk.
    const int64_t chunk = (vocab + blockDim.x - 1) / blockDim.x;
    const int64_t c0 = threadIdx.x * chunk, c1 = min(vocab, c0 + chunk);
    float part = 0.0f;
    for (int64_t c = c0; c < c1; ++c) {
      const float z = to_f(x[c]) * inv_t;
      const float e = __expf(z - zmax);
      if (z >= zcut && e >= ecut) part += e;
    }
    sv[threadIdx.x] = part;
    __syncthreads();
    if (threadIdx.x == 0) {
      float total = 0.0f;
      for (int t = 0; t < blockDim.x; ++t) total += sv[t];
      const float target = u[row] * total;
      float acc = 0.0f;
      int32_t chosen = -1, last_kept = -1;
      for (int t = 0; t < blockDim.x && chosen < 0; ++t) {
        if (acc + sv[t] <= target) {  // the draw lies past this chunk
          acc += sv[t];
          if (sv[t] > 0.0f) {
            const int64_t b1 = min(vocab, (t + 1) * chunk);
            for (int64_t c = t * chunk; c < b1; ++c) {
              const float z = to_f(x[c]) * inv_t;
              if (z >= zcut && __expf(z - zmax) >= ecut) last_kept = int32_t(c);
            }
          }
          continue;
        }
        const int64_t b1 = min(vocab, (t + 1) * chunk);
        for (int64_t c = t * chunk; c < b1; ++c) {
          const float z = to_f(x[c]) * inv_t;
          const float e = __expf(z - zmax);
          if (z >= zcut && e >= ecut) {
            last_kept = int32_t(c);
            acc += e;
            if (acc > target) {
              chosen = int32_t(c);
              break;
            }
          }
        }
      }
      out[row] = chosen >= 0 ? chosen : last_kept;  // rounding at the very end: last kept id
    }
    __syncthreads();
  }
}

}  // namespace

template <typename T>
void argmax_rows(Context& ctx, int32_t* out, const T* logits, int64_t n, int64_t vocab) {
  if (n <= 0) return;
  argmax_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(out, logits, n, vocab);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void sample_rows(Context& ctx, int32_t* out, const T* logits, const DeviceSampling* params,
                 const float* u, int64_t n, int64_t vocab) {
  if (n <= 0) return;
  sample_kernel<<<blocks_for(n, 1), kThreads, 0, ctx.s()>>>(out, logits, params, u, n, vocab);
  WB_CUDA_CHECK_LAUNCH();
}

#define WB_INST(T)                                                                        \
  template void argmax_rows<T>(Context&, int32_t*, const T*, int64_t, int64_t);           \
  template void sample_rows<T>(Context&, int32_t*, const T*, const DeviceSampling*,       \
                               const float*, int64_t, int64_t);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::cuda
