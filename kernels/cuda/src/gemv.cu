// Small-batch GEMV for decode (see wb/cuda/gemv.h). A block stages the n input rows in shared
// memory (as T), then each warp takes output rows and streams them with 128-bit loads, kLoads
// loads in flight per lane, fp32 sums reduced across the warp.
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

// Dot products of one weight row with the n staged rows: acc[i] += w_row . xs[i].
template <typename T, int N>
__device__ __forceinline__ void row_dot(float (&acc)[N], const T* wr, const T* xs, int64_t in,
                                        bool vec, int lane) {
  constexpr int V = 16 / sizeof(T);
  if (vec) {
    const uint4* wv = reinterpret_cast<const uint4*>(wr);
    const int64_t nv = in / V;
    for (int64_t base = 0; base < nv; base += 32 * kLoads) {
      uint4 buf[kLoads];
#pragma unroll
      for (int u = 0; u < kLoads; ++u) {
        const int64_t idx = base + u * 32 + lane;
        buf[u] = idx < nv ? __ldcs(wv + idx) : make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int u = 0; u < kLoads; ++u) {
        const int64_t idx = base + u * 32 + lane;
        if (idx >= nv) break;
        const T* we = reinterpret_cast<const T*>(&buf[u]);
#pragma unroll
        for (int i = 0; i < N; ++i) {
          const uint4 xv = reinterpret_cast<const uint4*>(xs + i * in)[idx];
          const T* xe = reinterpret_cast<const T*>(&xv);
#pragma unroll
          for (int e = 0; e < V; ++e) acc[i] += to_f(we[e]) * to_f(xe[e]);
        }
      }
    }
  } else {
    for (int64_t c = lane; c < in; c += 32) {
      const float wc = to_f(wr[c]);
#pragma unroll
      for (int i = 0; i < N; ++i) acc[i] += wc * to_f(xs[i * in + c]);
    }
  }
#pragma unroll
  for (int i = 0; i < N; ++i) acc[i] = dev::warp_sum(acc[i]);
}

// NORM: stage rmsnorm(x) * norm_w; PAIR: combine rows r and out + r with swiglu.
template <typename T, int N, bool NORM, bool PAIR>
__global__ void __launch_bounds__(kThreads) gemv_kernel(T* y, const T* x, const T* nw, float eps,
                                                        const T* w, int64_t in, int64_t out,
                                                        bool accumulate, bool vec) {
  extern __shared__ __align__(16) unsigned char smem_raw[];
  T* xs = reinterpret_cast<T*>(smem_raw);  // [N][in]
  __shared__ float scratch[32];
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
  const int lane = threadIdx.x % 32, nwarps = blockDim.x / 32;
  for (int64_t row = blockIdx.x * int64_t(nwarps) + threadIdx.x / 32; row < out;
       row += int64_t(gridDim.x) * nwarps) {
    float acc[N];
#pragma unroll
    for (int i = 0; i < N; ++i) acc[i] = 0.0f;
    row_dot<T, N>(acc, w + row * in, xs, in, vec, lane);
    if (PAIR) {
      float up[N];
#pragma unroll
      for (int i = 0; i < N; ++i) up[i] = 0.0f;
      row_dot<T, N>(up, w + (out + row) * in, xs, in, vec, lane);
#pragma unroll
      for (int i = 0; i < N; ++i) {
        const float g = to_f(from_f<T>(acc[i])), u = to_f(from_f<T>(up[i]));
        acc[i] = silu(g) * u;
      }
    }
    if (lane == 0) {
#pragma unroll
      for (int i = 0; i < N; ++i) {
        T* yp = y + i * out + row;
        *yp = from_f<T>(accumulate ? to_f(*yp) + acc[i] : acc[i]);
      }
    }
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
  if (smem > 48 * 1024)
    WB_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       int(smem)));
  constexpr int V = 16 / sizeof(T);
  const bool vec = in % V == 0 && reinterpret_cast<uintptr_t>(w) % 16 == 0;
  const int warps = kThreads / 32;
  int64_t blocks = (out + warps - 1) / warps;
  // Enough blocks to fill every SM a few times; the warps loop over the remaining rows.
  const int64_t cap = int64_t(sm_count()) * 4;
  if (blocks > cap) blocks = cap;
  kernel<<<unsigned(blocks), kThreads, smem, ctx.s()>>>(y, x, nw, eps, w, in, out, accumulate,
                                                         vec);
  WB_CUDA_CHECK_LAUNCH();
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
