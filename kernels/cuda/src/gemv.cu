// Small-batch GEMV for decode (see wb/cuda/gemv.h). A block stages the n input rows in shared
// memory (as T), then each warp takes groups of two weight rows and streams them with 128-bit
// loads (2 x kLoads per lane in flight), fp32 sums reduced across the warp.
#include "common.cuh"
#include "wb/cuda/gemv.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kThreads = 256;
constexpr int kLoads = 8;               // 16-byte loads in flight per lane
constexpr size_t kMaxSmem = 96 * 1024;  // staged input rows

// As swiglu_forward computes it (g * sigmoid(g)), so the fused output has the same bits.
__device__ __forceinline__ float silu(float g) { return g * (1.0f / (1.0f + __expf(-g))); }

// Scalar path (widths that are not a multiple of 16 bytes): acc[i] = w_row . xs[i].
template <typename T, int N>
__device__ __forceinline__ void row_dot_scalar(float (&acc)[N], const T* wr, const T* xs,
                                               int64_t in, int lane) {
  for (int64_t c = lane; c < in; c += 32) {
    const float wc = to_f(wr[c]);
#pragma unroll
    for (int i = 0; i < N; ++i) acc[i] += wc * to_f(xs[i * in + c]);
  }
#pragma unroll
  for (int i = 0; i < N; ++i) acc[i] = dev::warp_sum(acc[i]);
}

// The 128-bit path works on row groups of two weight rows (rows 2g and 2g+1, or with PAIR the
// gate row g and the up row out+g), split into chunks of 32*kLoads vectors. A warp walks its
// groups chunk by chunk, always with the next chunk's loads in flight while it reduces and
// writes a finished group; its first loads are issued before the block stages the input.
template <bool PAIR>
__device__ __forceinline__ int64_t group_row(int64_t g, int s, int64_t out) {
  if (PAIR) return s ? out + g : g;
  const int64_t r = 2 * g + s;
  return r < out ? r : -1;
}

template <typename T, bool PAIR>
__device__ __forceinline__ void load_chunk(uint4 (&buf)[2][kLoads], const T* w, int64_t g,
                                           int64_t c, int64_t in, int64_t out, int lane) {
  constexpr int V = 16 / sizeof(T);
  const int64_t nv = in / V;
#pragma unroll
  for (int s = 0; s < 2; ++s) {
    const int64_t r = group_row<PAIR>(g, s, out);
    const uint4* wv = reinterpret_cast<const uint4*>(w + (r < 0 ? 0 : r) * in);
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      const int64_t idx = c * 32 * kLoads + u * 32 + lane;
      buf[s][u] = (r >= 0 && idx < nv) ? __ldcs(wv + idx) : make_uint4(0, 0, 0, 0);
    }
  }
}

template <typename T, int N>
__device__ __forceinline__ void use_chunk(float (&acc)[2][N], const uint4 (&buf)[2][kLoads],
                                          const T* xs, int64_t c, int64_t in, int lane) {
  constexpr int V = 16 / sizeof(T);
  const int64_t nv = in / V;
#pragma unroll
  for (int u = 0; u < kLoads; ++u) {
    const int64_t idx = c * 32 * kLoads + u * 32 + lane;
    if (idx >= nv) break;
#pragma unroll
    for (int i = 0; i < N; ++i) {
      const uint4 xv = reinterpret_cast<const uint4*>(xs + i * in)[idx];
      const T* xe = reinterpret_cast<const T*>(&xv);
#pragma unroll
      for (int s = 0; s < 2; ++s) {
        const T* we = reinterpret_cast<const T*>(&buf[s][u]);
#pragma unroll
        for (int e = 0; e < V; ++e) acc[s][i] += to_f(we[e]) * to_f(xe[e]);
      }
    }
  }
}

// NORM: stage rmsnorm(x) * norm_w; PAIR: combine rows r and out + r with swiglu.
template <typename T, int N, bool NORM, bool PAIR>
__global__ void __launch_bounds__(kThreads) gemv_kernel(T* y, const T* x, const T* nw, float eps,
                                                        const T* w, int64_t in, int64_t out,
                                                        bool accumulate, bool vec) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* xs = reinterpret_cast<T*>(smem_raw);  // [N][in]
  __shared__ float scratch[32];
  const int lane = threadIdx.x % 32, nwarps = blockDim.x / 32;
  const int64_t warp0 = blockIdx.x * int64_t(nwarps) + threadIdx.x / 32;
  const int64_t stride = int64_t(gridDim.x) * nwarps;
  constexpr int V = 16 / sizeof(T);
  const int64_t chunks = (in / V + 32 * kLoads - 1) / (32 * kLoads);
  const int64_t groups = PAIR ? out : (out + 1) / 2;
  uint4 buf[2][kLoads];
  // Programmatic dependent launch (common.cuh): the next kernel may launch now; this one's first
  // weight loads do not depend on the previous kernel, so they go out before the wait.
  dev::pdl_trigger();
  if (vec && warp0 < groups) load_chunk<T, PAIR>(buf, w, warp0, 0, in, out, lane);  // weights only
  dev::pdl_wait();  // from here on, the previous kernel's outputs (x) are visible

  for (int i = 0; i < N; ++i) {
    const T* xr = x + i * in;
    float r = 1.0f;
    if (NORM) {
      float ss = 0.0f;
      for (int64_t c = threadIdx.x; c < in; c += blockDim.x) {
        const float v = to_f(xr[c]);
        ss += v * v;
      }
      r = rsqrtf(dev::block_sum(ss, scratch) / float(in) + eps);
    }
    for (int64_t c = threadIdx.x; c < in; c += blockDim.x)
      xs[i * in + c] = NORM ? from_f<T>(to_f(xr[c]) * r * to_f(nw[c])) : xr[c];
  }
  __syncthreads();

  if (!vec) {  // one output row (or gate/up pair) at a time
    for (int64_t row = warp0; row < out; row += stride) {
      float acc[N], up[N];
#pragma unroll
      for (int i = 0; i < N; ++i) acc[i] = up[i] = 0.0f;
      row_dot_scalar<T, N>(acc, w + row * in, xs, in, lane);
      if (PAIR) row_dot_scalar<T, N>(up, w + (out + row) * in, xs, in, lane);
      if (lane == 0) {
#pragma unroll
        for (int i = 0; i < N; ++i) {
          float v = acc[i];
          if (PAIR) v = silu(to_f(from_f<T>(acc[i]))) * to_f(from_f<T>(up[i]));
          T* yp = y + i * out + row;
          *yp = from_f<T>(accumulate ? to_f(*yp) + v : v);
        }
      }
    }
    return;
  }

  float acc[2][N];
#pragma unroll
  for (int s = 0; s < 2; ++s)
#pragma unroll
    for (int i = 0; i < N; ++i) acc[s][i] = 0.0f;
  int64_t g = warp0, c = 0;
  while (g < groups) {
    use_chunk<T, N>(acc, buf, xs, c, in, lane);
    int64_t ng = g, nc = c + 1;
    if (nc == chunks) {
      nc = 0;
      ng = g + stride;
    }
    if (ng < groups) load_chunk<T, PAIR>(buf, w, ng, nc, in, out, lane);
    if (nc == 0) {  // group g is complete: reduce and write while the next loads fly
#pragma unroll
      for (int s = 0; s < 2; ++s)
#pragma unroll
        for (int i = 0; i < N; ++i) acc[s][i] = dev::warp_sum(acc[s][i]);
      if (lane == 0) {
#pragma unroll
        for (int i = 0; i < N; ++i) {
          if (PAIR) {
            const float v = silu(to_f(from_f<T>(acc[0][i]))) * to_f(from_f<T>(acc[1][i]));
            y[i * out + g] = from_f<T>(v);
          } else {
#pragma unroll
            for (int s = 0; s < 2; ++s) {
              const int64_t r = group_row<false>(g, s, out);
              if (r < 0) continue;
              T* yp = y + i * out + r;
              *yp = from_f<T>(accumulate ? to_f(*yp) + acc[s][i] : acc[s][i]);
            }
          }
        }
      }
#pragma unroll
      for (int s = 0; s < 2; ++s)
#pragma unroll
        for (int i = 0; i < N; ++i) acc[s][i] = 0.0f;
    }
    g = ng;
    c = nc;
  }
}

int sm_count() {
  static const int n = [] {
    int dev = 0, c = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&c, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess)
      c = 0;
    cudaGetLastError();
    return c > 0 ? c : 132;
  }();
  return n;
}

template <typename T, int N, bool NORM, bool PAIR>
void launch_n(Context& ctx, T* y, const T* x, const T* nw, float eps, const T* w, int64_t in,
              int64_t out, bool accumulate) {
  const size_t smem = size_t(N) * size_t(in) * sizeof(T);
  auto kernel = gemv_kernel<T, N, NORM, PAIR>;
  static size_t smem_set = 48 * 1024;  // the attribute once per larger size (not per launch)
  if (smem > smem_set) {
    WB_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       int(smem)));
    smem_set = smem;
  }
  constexpr int V = 16 / sizeof(T);
  const bool vec = in % V == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0;
  const int warps = kThreads / 32;
  const int64_t groups = vec ? (PAIR ? out : (out + 1) / 2) : out;
  int64_t blocks = (groups + warps - 1) / warps;
  // One wave: as many blocks as fit on the SMs at once (the warps loop over the remaining
  // groups), so every block's first loads are in flight while it stages the input.
  static int per_sm = 0;
  static size_t per_sm_smem = ~size_t(0);
  if (per_sm_smem != smem) {
    if (cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, smem) !=
            cudaSuccess ||
        per_sm < 1)
      per_sm = 2;
    cudaGetLastError();
    per_sm_smem = smem;
  }
  const int64_t cap = int64_t(sm_count()) * per_sm;
  if (blocks > cap) {
    // Every warp gets the same number of groups (rounds), rather than a few warps one more round
    // than the rest at the end, when only they would be streaming.
    const int64_t rounds = (groups + cap * warps - 1) / (cap * warps);
    blocks = (groups + warps * rounds - 1) / (warps * rounds);
  }
  launch_pdl(kernel, dim3(unsigned(blocks)), dim3(kThreads), smem, ctx.s(), y, x, nw, eps, w, in,
             out, accumulate, vec);
}

template <typename T, bool NORM, bool PAIR>
void launch(Context& ctx, T* y, const T* x, const T* nw, float eps, const T* w, int64_t n,
            int64_t in, int64_t out, bool accumulate) {
  if (!gemv_fits<T>(n, in)) throw std::invalid_argument("gemv: too many rows or too wide");
  if (out == 0 || n == 0) return;
  switch (n) {
    case 1: return launch_n<T, 1, NORM, PAIR>(ctx, y, x, nw, eps, w, in, out, accumulate);
    case 2: return launch_n<T, 2, NORM, PAIR>(ctx, y, x, nw, eps, w, in, out, accumulate);
    case 3: return launch_n<T, 3, NORM, PAIR>(ctx, y, x, nw, eps, w, in, out, accumulate);
    default: return launch_n<T, 4, NORM, PAIR>(ctx, y, x, nw, eps, w, in, out, accumulate);
  }
}

}  // namespace

template <typename T>
bool gemv_fits(int64_t n, int64_t in) {
  return n >= 0 && n <= kGemvMaxRows && in > 0 && size_t(n) * size_t(in) * sizeof(T) <= kMaxSmem;
}

template <typename T>
void gemv(Context& ctx, T* y, const T* x, const T* w, int64_t n, int64_t in, int64_t out,
          bool accumulate) {
  launch<T, false, false>(ctx, y, x, nullptr, 0.0f, w, n, in, out, accumulate);
}

template <typename T>
void gemv_rmsnorm(Context& ctx, T* y, const T* x, const T* norm_w, float eps, const T* w,
                  int64_t n, int64_t in, int64_t out, bool swiglu) {
  if (swiglu) launch<T, true, true>(ctx, y, x, norm_w, eps, w, n, in, out, false);
  else launch<T, true, false>(ctx, y, x, norm_w, eps, w, n, in, out, false);
}

#define WB_INST(T)                                                                          \
  template bool gemv_fits<T>(int64_t, int64_t);                                             \
  template void gemv<T>(Context&, T*, const T*, const T*, int64_t, int64_t, int64_t, bool); \
  template void gemv_rmsnorm<T>(Context&, T*, const T*, const T*, float, const T*, int64_t, \
                                int64_t, int64_t, bool);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::cuda
