// One decode query attending over one kv head's cache, computed by a whole block; shared by
// attention_decode (attention.cu) and attention_decode_rope (decode.cu), so the two give the same
// bits. A thread per key position for the scores (a whole key row in flight at once, 16-byte
// loads when the row allows), a thread per output element for P V (loads of consecutive
// positions unrolled): at decode lengths this is latency-bound, so every load goes out early.
#pragma once

#include "common.cuh"

namespace wb::cuda::dev {

// qs[D]: the query (fp32, shared memory); sc[L]: shared scores; scratch: 32 shared floats.
// Rows j < L of kc/vc (row stride kvld) are the keys and values, except that with k_last and
// v_last non-null row L-1 is taken from them instead (fp32 in shared memory, T-rounded values:
// the row another block is writing into the cache right now). out[c] for c < D.
template <typename T>
__device__ __forceinline__ void attend_cached(T* out, const float* qs, float* sc, float* scratch,
                                              const T* kc, const T* vc, int64_t kvld, int64_t D,
                                              int64_t L, float scale, const float* k_last,
                                              const float* v_last) {
  constexpr int V = 16 / sizeof(T);
  const bool vec = D % V == 0 && kvld % V == 0 && reinterpret_cast<uintptr_t>(kc) % 16 == 0;
  for (int64_t j = threadIdx.x; j < L; j += blockDim.x) {
    const T* kj = kc + j * kvld;
    float s = 0.0f;
    if (k_last && j == L - 1) {
      for (int64_t c = 0; c < D; ++c) s += qs[c] * k_last[c];
    } else if (vec) {
      const uint4* kv = reinterpret_cast<const uint4*>(kj);
#pragma unroll 16
      for (int64_t u = 0; u < D / V; ++u) {
        const uint4 w = kv[u];
        const T* e = reinterpret_cast<const T*>(&w);
#pragma unroll
        for (int t = 0; t < V; ++t) s += qs[u * V + t] * to_f(e[t]);
      }
    } else {
      for (int64_t c = 0; c < D; ++c) s += qs[c] * to_f(kj[c]);
    }
    sc[j] = s * scale;
  }
  __syncthreads();
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < L; j += blockDim.x) m = fmaxf(m, sc[j]);
  m = block_max(m, scratch);
  float l = 0.0f;
  for (int64_t j = threadIdx.x; j < L; j += blockDim.x) {
    const float p = __expf(sc[j] - m);
    sc[j] = p;
    l += p;
  }
  l = block_sum(l, scratch);  // synchronizes, so every p is visible below
  const int64_t cached = v_last ? L - 1 : L;
  for (int64_t c = threadIdx.x; c < D; c += blockDim.x) {
    float acc = 0.0f;
#pragma unroll 8
    for (int64_t j = 0; j < cached; ++j) acc += sc[j] * to_f(vc[j * kvld + c]);
    if (v_last) acc += sc[L - 1] * v_last[c];
    out[c] = from_f<T>(acc / l);
  }
}

}  // namespace wb::cuda::dev
