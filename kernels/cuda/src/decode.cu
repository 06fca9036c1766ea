// Decode-step helpers (see wb/cuda/decode.h).
#include "common.cuh"
#include "decode_attention.cuh"
#include "wb/cuda/decode.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

__global__ void step_begin_kernel(int32_t* tok, int32_t* pos, int32_t* len, const int32_t* step,
                                  const int32_t* prompts, int64_t batch, int64_t prompt_len) {
  const int32_t t = *step;
  for (int64_t b = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; b < batch;
       b += int64_t(gridDim.x) * blockDim.x) {
    pos[b] = t;
    len[b] = t + 1;
    if (t < prompt_len) tok[b] = prompts[b * prompt_len + t];
  }
}

// One block, so the increment comes after every thread has read the old value.
__global__ void step_end_kernel(int32_t* step, int32_t* out, const int32_t* tok, int64_t batch,
                                int64_t prompt_len, int64_t n_new) {
  const int32_t t = *step;
  const int64_t k = int64_t(t) - (prompt_len - 1);
  if (k >= 0 && k < n_new)
    for (int64_t b = threadIdx.x; b < batch; b += blockDim.x) out[b * n_new + k] = tok[b];
  __syncthreads();
  if (threadIdx.x == 0) *step = t + 1;
}

// One thread per (row, head slot, i < head_dim/2): slots 0..n_heads-1 are q heads, then the kv
// heads (k rotated, v copied).
template <typename T>
__global__ void rope_kv_append_kernel(T* q_out, T* k_cache, T* v_cache, const T* qkv, int64_t ld,
                                      const int32_t* pos, int64_t batch, int64_t n_heads,
                                      int64_t n_kv_heads, int64_t head_dim, float theta,
                                      int64_t cache_stride) {
  const int64_t half = head_dim / 2, slots = n_heads + n_kv_heads;
  const int64_t kv_dim = n_kv_heads * head_dim;
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < batch * slots * half;
       t += int64_t(gridDim.x) * blockDim.x) {
    const int64_t i = t % half, slot = (t / half) % slots, b = t / (half * slots);
    const int32_t p = pos[b];
    float c, s;
    dev::rope_cos_sin(p, i, head_dim, theta, c, s);
    const T* src = qkv + b * ld + slot * head_dim;  // q heads, then k heads right after
    const float a = to_f(src[i]), bb = to_f(src[i + half]);
    const T ra = from_f<T>(a * c - bb * s), rb = from_f<T>(bb * c + a * s);
    if (slot < n_heads) {
      T* dst = q_out + b * n_heads * head_dim + slot * head_dim;
      dst[i] = ra;
      dst[i + half] = rb;
    } else {
      const int64_t g = slot - n_heads;
      const int64_t row = b * cache_stride + int64_t(p) * kv_dim + g * head_dim;
      k_cache[row + i] = ra;
      k_cache[row + i + half] = rb;
      const T* vsrc = qkv + b * ld + (n_heads + n_kv_heads) * head_dim + g * head_dim;
      v_cache[row + i] = vsrc[i];
      v_cache[row + i + half] = vsrc[i + half];
    }
  }
}

// One block per (sequence b, head h); see attention_decode_rope. Shared memory: q, the new k and
// v ([head_dim] each, fp32 holding T-rounded values) and the scores [max_len].
template <typename T>
__global__ void attention_decode_rope_kernel(T* out, T* k_cache, T* v_cache, const T* qkv,
                                             int64_t ld, const int32_t* pos,
                                             int64_t cache_stride, AttentionShape sh,
                                             float theta, float scale) {
  extern __shared__ float smem[];
  __shared__ float scratch[32];
  const int64_t b = blockIdx.x / sh.n_heads, h = blockIdx.x % sh.n_heads;
  const int64_t group = sh.n_heads / sh.n_kv_heads, g = h / group;
  const int64_t D = sh.head_dim, half = D / 2, qld = sh.n_heads * D, kvld = sh.n_kv_heads * D;
  const int32_t p = pos[b];
  const int64_t L = int64_t(p) + 1;
  float* qs = smem;
  float* ks = smem + D;
  float* vs = smem + 2 * D;
  float* sc = smem + 3 * D;
  const T* row = qkv + b * ld;
  const T* qsrc = row + h * D;
  const T* ksrc = row + sh.n_heads * D + g * D;
  const T* vsrc = row + (sh.n_heads + sh.n_kv_heads) * D + g * D;
  T* kdst = k_cache + b * cache_stride + int64_t(p) * kvld + g * D;
  T* vdst = v_cache + b * cache_stride + int64_t(p) * kvld + g * D;
  const bool writer = h % group == 0;
  dev::pdl_trigger();  // the next GEMV may start streaming its weights on the idle SMs
  dev::pdl_wait();     // qkv comes from the previous kernel
  for (int64_t i = threadIdx.x; i < half; i += blockDim.x) {
    float c, s;
    dev::rope_cos_sin(p, i, D, theta, c, s);
    const float qa = to_f(qsrc[i]), qb = to_f(qsrc[i + half]);
    qs[i] = to_f(from_f<T>(qa * c - qb * s));
    qs[i + half] = to_f(from_f<T>(qb * c + qa * s));
    const float ka = to_f(ksrc[i]), kb = to_f(ksrc[i + half]);
    const T k0 = from_f<T>(ka * c - kb * s), k1 = from_f<T>(kb * c + ka * s);
    ks[i] = to_f(k0);
    ks[i + half] = to_f(k1);
    vs[i] = to_f(vsrc[i]);
    vs[i + half] = to_f(vsrc[i + half]);
    if (writer) {
      kdst[i] = k0;
      kdst[i + half] = k1;
      vdst[i] = vsrc[i];
      vdst[i + half] = vsrc[i + half];
    }
  }
  __syncthreads();

  // Rows before p come from the cache (written by earlier steps); row p, which the writer block
  // is storing right now, from shared memory.
  dev::attend_cached(out + b * qld + h * D, qs, sc, scratch, k_cache + b * cache_stride + g * D,
                     v_cache + b * cache_stride + g * D, kvld, D, L, scale,
                     static_cast<const float*>(ks), static_cast<const float*>(vs));
}

}  // namespace

void decode_step_begin(Context& ctx, int32_t* tok, int32_t* pos, int32_t* len, const int32_t* step,
                       const int32_t* prompts, int64_t batch, int64_t prompt_len) {
  if (batch == 0) return;
  step_begin_kernel<<<blocks_for(batch, 256), 256, 0, ctx.s()>>>(tok, pos, len, step, prompts,
                                                                   batch, prompt_len);
  WB_CUDA_CHECK_LAUNCH();
}

void decode_step_end(Context& ctx, int32_t* step, int32_t* out, const int32_t* tok, int64_t batch,
                     int64_t prompt_len, int64_t n_new) {
  step_end_kernel<<<1, 256, 0, ctx.s()>>>(step, out, tok, batch, prompt_len, n_new);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void rope_kv_append(Context& ctx, T* q_out, T* k_cache, T* v_cache, const T* qkv, int64_t ld,
                    const int32_t* pos, int64_t batch, int64_t n_heads, int64_t n_kv_heads,
                    int64_t head_dim, float theta, int64_t cache_stride) {
  if (head_dim % 2 != 0) throw std::invalid_argument("rope_kv_append: head_dim must be even");
  const int64_t total = batch * (n_heads + n_kv_heads) * (head_dim / 2);
  if (total == 0) return;
  rope_kv_append_kernel<<<blocks_for(total, 256), 256, 0, ctx.s()>>>(
      q_out, k_cache, v_cache, qkv, ld, pos, batch, n_heads, n_kv_heads, head_dim, theta,
      cache_stride);
  WB_CUDA_CHECK_LAUNCH();
}

template <typename T>
void attention_decode_rope(Context& ctx, T* out, T* k_cache, T* v_cache, const T* qkv, int64_t ld,
                           const int32_t* pos, int64_t max_len, int64_t cache_stride,
                           const AttentionShape& sh, float theta) {
  if (sh.head_dim <= 0 || sh.head_dim % 2 != 0 || sh.head_dim > 256)
    throw std::invalid_argument("attention_decode_rope: head_dim must be even and <= 256");
  if (sh.n_kv_heads <= 0 || sh.n_heads % sh.n_kv_heads != 0)
    throw std::invalid_argument("attention_decode_rope: n_kv_heads must divide n_heads");
  if (sh.n == 0) return;
  const size_t smem = size_t(3 * sh.head_dim + max_len) * sizeof(float);
  static size_t smem_set = 48 * 1024;
  if (smem > smem_set) {
    WB_CUDA_CHECK(cudaFuncSetAttribute(attention_decode_rope_kernel<T>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
    smem_set = smem;
  }
  const float scale = 1.0f / sqrtf(float(sh.head_dim));
  launch_pdl(attention_decode_rope_kernel<T>, dim3(unsigned(sh.n * sh.n_heads)), dim3(128), smem,
             ctx.s(), out, k_cache, v_cache, qkv, ld, pos, cache_stride, sh, theta, scale);
}

#define WB_INST(T)                                                                             \
  template void rope_kv_append<T>(Context&, T*, T*, T*, const T*, int64_t, const int32_t*,     \
                                  int64_t, int64_t, int64_t, int64_t, float, int64_t);         \
  template void attention_decode_rope<T>(Context&, T*, T*, T*, const T*, int64_t,              \
                                         const int32_t*, int64_t, int64_t,                     \
                                         const AttentionShape&, float);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::cuda
