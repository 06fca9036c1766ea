// Causal GQA attention over packed sequences (training, prefill) and over a KV cache (decode).
// See wb/kernels/attention.h for the math (attention_*_rows). Plain loops: a warp owns one (row, head) and walks the
// keys of that row's sequence with the online-softmax recurrence.
#include <stdexcept>

#include "common.cuh"
#include "decode_attention.cuh"
#include "wb/cuda/stream.h"
#include "wb/kernels/attention.h"

namespace wb::cuda {
using wb::kernels::AttentionShape;
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kWarpsPerBlock = 4;
constexpr int kMaxPerLane = 8;  // head_dim <= 32 * 8 = 256

void check_shape(const AttentionShape& s) {
  if (s.head_dim <= 0 || s.head_dim > 32 * kMaxPerLane)
    throw std::invalid_argument("attention: head_dim must be in 1..256");
  if (s.n_kv_heads <= 0 || s.n_heads % s.n_kv_heads != 0)
    throw std::invalid_argument("attention: n_kv_heads must divide n_heads");
}

// Loads this lane's elements c = lane + 32 e of a head vector into registers (0 past head_dim).
template <typename T>
__device__ __forceinline__ void load_lane(float (&r)[kMaxPerLane], const T* p, int64_t dim,
                                          int lane) {
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) {
    const int64_t c = lane + 32 * e;
    r[e] = c < dim ? to_f(p[c]) : 0.0f;
  }
}

template <typename T>
__device__ __forceinline__ float dot_lane(const float (&a)[kMaxPerLane], const T* p, int64_t dim,
                                          int lane) {
  float s = 0.0f;
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) {
    const int64_t c = lane + 32 * e;
    if (c < dim) s += a[e] * to_f(p[c]);
  }
  return dev::warp_sum(s);
}

template <typename T>
__global__ void attention_forward_kernel(T* out, float* lse, const T* q, const T* k, const T* v,
                                         const int32_t* seq_start, AttentionShape sh,
                                         float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t item = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32;
  if (item >= sh.n * sh.n_heads) return;
  // Consecutive warps take consecutive rows of one head, so a block reads the same keys and
  // values (L1 hits) instead of four heads' different ones.
  const int64_t h = item / sh.n, i = item % sh.n;
  const int64_t kvh = h / (sh.n_heads / sh.n_kv_heads);
  const int64_t D = sh.head_dim, qld = sh.n_heads * D, kvld = sh.n_kv_heads * D;

  float qr[kMaxPerLane], acc[kMaxPerLane];
  load_lane(qr, q + i * qld + h * D, D, lane);
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) acc[e] = 0.0f;
  float m = -INFINITY, l = 0.0f;
  for (int64_t j = seq_start[i]; j <= i; ++j) {
    const float s = dot_lane(qr, k + j * kvld + kvh * D, D, lane) * scale;
    const float m_new = fmaxf(m, s);
    const float corr = __expf(m - m_new), p = __expf(s - m_new);
    l = l * corr + p;
    const T* vj = v + j * kvld + kvh * D;
#pragma unroll
    for (int e = 0; e < kMaxPerLane; ++e) {
      const int64_t c = lane + 32 * e;
      acc[e] = acc[e] * corr + (c < D ? p * to_f(vj[c]) : 0.0f);
    }
    m = m_new;
  }
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) {
    const int64_t c = lane + 32 * e;
    if (c < D) out[i * qld + h * D + c] = from_f<T>(acc[e] / l);
  }
  if (lse && lane == 0) lse[h * sh.n + i] = m + logf(l);
}

// Backward in two passes, neither with atomics:
//  1. one warp per (row i, head h): D_i = dout_i . out_i (kept in the workspace) and
//     dq_i += scale * sum_j ds_ij k_j over the keys j <= i of i's sequence;
//  2. one warp per (key row j, kv head g): for every query head h of the group and every query
//     i >= j of the same sequence, recomputes p_ij = exp(s_ij - lse_i) and ds_ij, and sums
//     dk_j += scale * ds_ij q_i and dv_j += p_ij dout_i in registers.
template <typename T>
__global__ void attention_backward_dq_kernel(T* dq, float* Dws, const T* dout, const T* q,
                                             const T* k, const T* v, const T* out,
                                             const float* lse, const int32_t* seq_start,
                                             AttentionShape sh, float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t item = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32;
  if (item >= sh.n * sh.n_heads) return;
  // Consecutive warps take consecutive rows of one head, so a block reads the same keys and
  // values (L1 hits) instead of four heads' different ones.
  const int64_t h = item / sh.n, i = item % sh.n;
  const int64_t kvh = h / (sh.n_heads / sh.n_kv_heads);
  const int64_t D = sh.head_dim, qld = sh.n_heads * D, kvld = sh.n_kv_heads * D;

  float qr[kMaxPerLane], dor[kMaxPerLane], dqr[kMaxPerLane];
  load_lane(qr, q + i * qld + h * D, D, lane);
  load_lane(dor, dout + i * qld + h * D, D, lane);
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) dqr[e] = 0.0f;
  const float Di = dot_lane(dor, out + i * qld + h * D, D, lane);
  if (lane == 0) Dws[h * sh.n + i] = Di;
  const float lse_i = lse[h * sh.n + i];
  for (int64_t j = seq_start[i]; j <= i; ++j) {
    const T* kj = k + j * kvld + kvh * D;
    const float p = __expf(dot_lane(qr, kj, D, lane) * scale - lse_i);
    const float ds = p * (dot_lane(dor, v + j * kvld + kvh * D, D, lane) - Di);
#pragma unroll
    for (int e = 0; e < kMaxPerLane; ++e) {
      const int64_t c = lane + 32 * e;
      if (c < D) dqr[e] += scale * ds * to_f(kj[c]);
    }
  }
  if (!dq) return;
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) {
    const int64_t c = lane + 32 * e;
    if (c < D) dq[i * qld + h * D + c] = from_f<T>(to_f(dq[i * qld + h * D + c]) + dqr[e]);
  }
}

template <typename T>
__global__ void attention_backward_dkv_kernel(T* dk, T* dv, const float* Dws, const T* dout,
                                              const T* q, const T* k, const T* v,
                                              const float* lse, const int32_t* seq_start,
                                              AttentionShape sh, float scale) {
  const int lane = threadIdx.x % 32;
  const int64_t item = blockIdx.x * int64_t(kWarpsPerBlock) + threadIdx.x / 32;
  if (item >= sh.n * sh.n_kv_heads) return;
  const int64_t g = item / sh.n, j = item % sh.n;
  const int64_t group = sh.n_heads / sh.n_kv_heads;
  const int64_t D = sh.head_dim, qld = sh.n_heads * D, kvld = sh.n_kv_heads * D;

  float kr[kMaxPerLane], vr[kMaxPerLane], dkr[kMaxPerLane], dvr[kMaxPerLane];
  load_lane(kr, k + j * kvld + g * D, D, lane);
  load_lane(vr, v + j * kvld + g * D, D, lane);
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) dkr[e] = dvr[e] = 0.0f;
  const int32_t seq = seq_start[j];
  for (int64_t h = g * group; h < (g + 1) * group; ++h) {
    for (int64_t i = j; i < sh.n && seq_start[i] == seq; ++i) {
      const T* qi = q + i * qld + h * D;
      const T* doi = dout + i * qld + h * D;
      const float p = __expf(dot_lane(kr, qi, D, lane) * scale - lse[h * sh.n + i]);
      const float ds = p * (dot_lane(vr, doi, D, lane) - Dws[h * sh.n + i]);
#pragma unroll
      for (int e = 0; e < kMaxPerLane; ++e) {
        const int64_t c = lane + 32 * e;
        if (c < D) {
          dkr[e] += scale * ds * to_f(qi[c]);
          dvr[e] += p * to_f(doi[c]);
        }
      }
    }
  }
#pragma unroll
  for (int e = 0; e < kMaxPerLane; ++e) {
    const int64_t c = lane + 32 * e;
    if (c >= D) continue;
    const int64_t at = j * kvld + g * D + c;
    if (dk) dk[at] = from_f<T>(to_f(dk[at]) + dkr[e]);
    if (dv) dv[at] = from_f<T>(to_f(dv[at]) + dvr[e]);
  }
}

// One block per (sequence b, head h). Scores in shared memory: s_j for j < lengths[b]; the
// attention itself is dev::attend_cached (decode_attention.cuh).
template <typename T>
__global__ void attention_decode_kernel(T* out, const T* q, const T* k_cache, const T* v_cache,
                                        const int32_t* lengths, int64_t cache_stride,
                                        AttentionShape sh, float scale, const int32_t* slot) {
  extern __shared__ float smem[];  // [head_dim] q, then [max_len] scores
  __shared__ float scratch[32];
  const int64_t b = blockIdx.x / sh.n_heads, h = blockIdx.x % sh.n_heads;
  const int64_t kvh = h / (sh.n_heads / sh.n_kv_heads);
  const int64_t D = sh.head_dim, qld = sh.n_heads * D, kvld = sh.n_kv_heads * D;
  const int64_t L = lengths[b];
  const int64_t cache = slot ? int64_t(slot[b]) : b;  // which sequence's cache row b reads
  float* qs = smem;
  float* sc = smem + D;
  for (int64_t c = threadIdx.x; c < D; c += blockDim.x) qs[c] = to_f(q[b * qld + h * D + c]);
  __syncthreads();

  dev::attend_cached(out + b * qld + h * D, qs, sc, scratch,
                     k_cache + cache * cache_stride + kvh * D,
                     v_cache + cache * cache_stride + kvh * D, kvld, D, L, scale,
                     static_cast<const float*>(nullptr), static_cast<const float*>(nullptr));
}

template <typename T>
__global__ void kv_append_kernel(T* k_cache, T* v_cache, const T* k_new, const T* v_new,
                                 const int32_t* positions, int64_t batch, int64_t cache_stride,
                                 int64_t kv_dim, const int32_t* slot) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < batch * kv_dim;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t b = t / kv_dim, c = t % kv_dim;
    const int64_t cache = slot ? int64_t(slot[b]) : b;
    const int64_t dst = cache * cache_stride + int64_t(positions[b]) * kv_dim + c;
    k_cache[dst] = k_new[t];
    v_cache[dst] = v_new[t];
  }
}

}  // namespace

}  // namespace wb::cuda

namespace wb::kernels {
using namespace wb::cuda;

std::vector<int32_t> seq_start_from_cu_seqlens(const int32_t* cu_seqlens, int64_t n_seqs) {
  std::vector<int32_t> out;
  for (int64_t s = 0; s < n_seqs; ++s) {
    if (cu_seqlens[s + 1] < cu_seqlens[s])
      throw std::invalid_argument("cu_seqlens must be non-decreasing");
    out.insert(out.end(), size_t(cu_seqlens[s + 1] - cu_seqlens[s]), cu_seqlens[s]);
  }
  return out;
}

template <typename T>
void attention_forward_rows(T* out, acc_t<T>* lse, const T* q, const T* k, const T* v,
                            const int32_t* seq_start, const AttentionShape& sh, Context& ctx) {
  check_shape(sh);
  const int64_t items = sh.n * sh.n_heads;
  if (items == 0) return;
  const float scale = 1.0f / sqrtf(float(sh.head_dim));
  attention_forward_kernel<<<blocks_exact(items, kWarpsPerBlock), 32 * kWarpsPerBlock, 0,
                             ctx.s()>>>(out, lse, q, k, v, seq_start, sh, scale);
  WB_CUDA_CHECK_LAUNCH();
}

int64_t attention_rows_workspace(const AttentionShape& sh) { return sh.n_heads * sh.n; }

template <typename T>
void attention_backward_rows(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k,
                             const T* v, const T* out, const acc_t<T>* lse,
                             const int32_t* seq_start, const AttentionShape& sh,
                             float* workspace, Context& ctx) {
  check_shape(sh);
  if (sh.n * sh.n_heads == 0) return;
  const float scale = 1.0f / sqrtf(float(sh.head_dim));
  const int threads = 32 * kWarpsPerBlock;
  // Pass 1 always runs: pass 2 needs the D_i it leaves in the workspace.
  attention_backward_dq_kernel<<<blocks_exact(sh.n * sh.n_heads, kWarpsPerBlock), threads, 0,
                                 ctx.s()>>>(dq, workspace, dout, q, k, v, out, lse, seq_start,
                                            sh, scale);
  WB_CUDA_CHECK_LAUNCH();
  if (!dk && !dv) return;
  attention_backward_dkv_kernel<<<blocks_exact(sh.n * sh.n_kv_heads, kWarpsPerBlock), threads, 0,
                                  ctx.s()>>>(dk, dv, workspace, dout, q, k, v, lse, seq_start,
                                             sh, scale);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void attention_decode(T* out, const T* q, const T* k_cache, const T* v_cache,
                      const int32_t* lengths, int64_t batch, int64_t max_len,
                      int64_t cache_stride, const AttentionShape& sh, const int32_t* slot, Context& ctx) {
  check_shape(sh);
  if (batch == 0) return;
  const size_t smem = size_t(sh.head_dim + max_len) * sizeof(float);
  if (smem > 48 * 1024) {
    WB_CUDA_CHECK(cudaFuncSetAttribute(attention_decode_kernel<T>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
  }
  const float scale = 1.0f / sqrtf(float(sh.head_dim));
  attention_decode_kernel<<<unsigned(batch * sh.n_heads), 128, smem, ctx.s()>>>(
      out, q, k_cache, v_cache, lengths, cache_stride, sh, scale, slot);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void kv_cache_append(T* k_cache, T* v_cache, const T* k_new, const T* v_new,
                     const int32_t* positions, int64_t batch, int64_t cache_stride,
                     int64_t kv_dim, const int32_t* slot, Context& ctx) {
  if (batch * kv_dim == 0) return;
  kv_append_kernel<<<blocks_for(batch * kv_dim, 256), 256, 0, ctx.s()>>>(
      k_cache, v_cache, k_new, v_new, positions, batch, cache_stride, kv_dim, slot);
  WB_CUDA_CHECK_LAUNCH();
}

#define WB_INST(T)                                                                               \
  template void attention_forward_rows<T>(T*, float*, const T*, const T*, const T*,              \
                                          const int32_t*, const AttentionShape&, Context&);      \
  template void attention_backward_rows<T>(T*, T*, T*, const T*, const T*, const T*, const T*,   \
                                           const T*, const float*, const int32_t*,               \
                                           const AttentionShape&, float*, Context&);             \
  template void attention_decode<T>(T*, const T*, const T*, const T*, const int32_t*, int64_t,   \
                                    int64_t, int64_t, const AttentionShape&, const int32_t*,     \
                                    Context&);                                                   \
  template void kv_cache_append<T>(T*, T*, const T*, const T*, const int32_t*, int64_t, int64_t, \
                                   int64_t, const int32_t*, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
