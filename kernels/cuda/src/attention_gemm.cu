// Causal GQA attention through cuBLAS strided-batched GEMMs (see wb/cuda/attention.h,
// attention_forward_gemm). Per sequence of length L, with query head h = g * group + j reading
// kv head g: one batched product over the kv heads g for each j < group, so a batch never
// writes one output twice (dk/dv of a kv head collect the group's heads one j at a time).
#include <algorithm>
#include <stdexcept>

#include "common.cuh"
#include "wb/cuda/attention.h"
#include "wb/cuda/gemm.h"

namespace wb::cuda {
namespace {
using dev::from_f;
using dev::to_f;

constexpr int kWarps = 8;

// One warp per (head h, row i) of an L x L score block S (fp32, already scaled): P = causal
// softmax of the row (zeros past the diagonal, as T) and lse[h * lse_ld + row0 + i].
template <typename T>
__global__ void causal_softmax_kernel(T* P, float* lse, const float* S, int64_t heads, int64_t L,
                                      int64_t lse_ld, int64_t row0) {
  const int lane = threadIdx.x % 32;
  const int64_t item = blockIdx.x * int64_t(kWarps) + threadIdx.x / 32;
  if (item >= heads * L) return;
  const int64_t h = item / L, i = item % L;
  const float* s = S + (h * L + i) * L;
  float m = -INFINITY;
  for (int64_t j = lane; j <= i; j += 32) m = fmaxf(m, s[j]);
  m = dev::warp_max(m);
  float l = 0.0f;
  for (int64_t j = lane; j <= i; j += 32) l += __expf(s[j] - m);
  l = dev::warp_sum(l);
  const float inv = 1.0f / l;
  T* p = P + (h * L + i) * L;
  for (int64_t j = lane; j < L; j += 32) p[j] = from_f<T>(j <= i ? __expf(s[j] - m) * inv : 0.0f);
  if (lse && lane == 0) lse[h * lse_ld + row0 + i] = m + logf(l);
}

// Backward, one warp per (h, i): with p_ij = exp(S_ij - lse_i) (j <= i, else 0):
//   ds = false: P_ij = p_ij  (for dV = P^T dO)
//   ds = true:  P_ij = scale * p_ij * (dP_ij - D_i),  D_i = dout_i . out_i  (for dQ, dK)
template <typename T>
__global__ void attention_probs_back_kernel(T* P, const float* S, const float* dP,
                                            const float* lse, const T* dout, const T* out,
                                            int64_t heads, int64_t L, int64_t lse_ld,
                                            int64_t row0, int64_t head_dim, int64_t qld,
                                            float scale, bool ds) {
  const int lane = threadIdx.x % 32;
  const int64_t item = blockIdx.x * int64_t(kWarps) + threadIdx.x / 32;
  if (item >= heads * L) return;
  const int64_t h = item / L, i = item % L;
  const float lse_i = lse[h * lse_ld + row0 + i];
  float D = 0.0f;
  if (ds) {
    const T* o = out + (row0 + i) * qld + h * head_dim;
    const T* d = dout + (row0 + i) * qld + h * head_dim;
    for (int64_t c = lane; c < head_dim; c += 32) D += to_f(d[c]) * to_f(o[c]);
    D = dev::warp_sum(D);
  }
  const float* s = S + (h * L + i) * L;
  const float* dp = ds ? dP + (h * L + i) * L : nullptr;
  T* p = P + (h * L + i) * L;
  for (int64_t j = lane; j < L; j += 32) {
    float v = 0.0f;
    if (j <= i) {
      v = __expf(s[j] - lse_i);
      if (ds) v = scale * v * (dp[j] - D);
    }
    p[j] = from_f<T>(v);
  }
}

struct Ws {
  float* S;
  float* dP;
  void* P;
};

Ws split(void* workspace, const AttentionShape& sh, int64_t max_len) {
  const size_t block = size_t(sh.n_heads) * size_t(max_len) * size_t(max_len);
  float* S = static_cast<float*>(workspace);
  return {S, S + block, S + 2 * block};
}

void check(const AttentionShape& sh, const std::vector<int32_t>& seq_lens) {
  if (sh.head_dim <= 0 || sh.n_kv_heads <= 0 || sh.n_heads % sh.n_kv_heads != 0)
    throw std::invalid_argument("attention_gemm: n_kv_heads must divide n_heads");
  int64_t total = 0;
  for (int32_t L : seq_lens) {
    if (L < 0) throw std::invalid_argument("attention_gemm: negative sequence length");
    total += L;
  }
  if (total != sh.n) throw std::invalid_argument("attention_gemm: sequence lengths do not sum to n");
}

int64_t max_len_of(const std::vector<int32_t>& seq_lens) {
  int64_t m = 0;
  for (int32_t L : seq_lens) m = std::max<int64_t>(m, L);
  return m;
}

}  // namespace

size_t attention_gemm_workspace(const AttentionShape& sh, int64_t max_len, size_t elem_size) {
  const size_t block = size_t(sh.n_heads) * size_t(max_len) * size_t(max_len);
  return block * (2 * sizeof(float) + elem_size);
}

template <typename T>
void attention_forward_gemm(Context& ctx, T* out, float* lse, const T* q, const T* k, const T* v,
                            const std::vector<int32_t>& seq_lens, const AttentionShape& sh,
                            void* workspace) {
  check(sh, seq_lens);
  const Ws ws = split(workspace, sh, max_len_of(seq_lens));
  T* P = static_cast<T*>(ws.P);
  const int64_t H = sh.n_heads, G = sh.n_kv_heads, group = H / G, hd = sh.head_dim;
  const int64_t qld = H * hd, kvld = G * hd;
  const float scale = 1.0f / sqrtf(float(hd));
  int64_t row0 = 0;
  for (int32_t Ls : seq_lens) {
    const int64_t L = Ls, LL = L * L;
    if (L == 0) continue;
    const T* q0 = q + row0 * qld;
    const T* k0 = k + row0 * kvld;
    const T* v0 = v + row0 * kvld;
    for (int64_t j = 0; j < group; ++j)  // S_h = scale Q_h K_g^T
      gemm_strided_batched_f32out<T>(ctx, false, true, L, L, hd, scale, q0 + j * hd, qld,
                                     group * hd, k0, kvld, hd, 0.0f, ws.S + j * LL, L, group * LL,
                                     G);
    causal_softmax_kernel<<<blocks_exact(H * L, kWarps), 32 * kWarps, 0, ctx.s()>>>(
        P, lse, ws.S, H, L, sh.n, row0);
    WB_CUDA_CHECK_LAUNCH();
    for (int64_t j = 0; j < group; ++j)  // O_h = P_h V_g
      gemm_strided_batched<T>(ctx, false, false, L, hd, L, 1.0f, P + j * LL, L, group * LL, v0,
                              kvld, hd, 0.0f, out + row0 * qld + j * hd, qld, group * hd, G);
    row0 += L;
  }
}

template <typename T>
void attention_backward_gemm(Context& ctx, T* dq, T* dk, T* dv, const T* dout, const T* q,
                             const T* k, const T* v, const T* out, const float* lse,
                             const std::vector<int32_t>& seq_lens, const AttentionShape& sh,
                             void* workspace) {
  check(sh, seq_lens);
  const Ws ws = split(workspace, sh, max_len_of(seq_lens));
  T* P = static_cast<T*>(ws.P);
  const int64_t H = sh.n_heads, G = sh.n_kv_heads, group = H / G, hd = sh.head_dim;
  const int64_t qld = H * hd, kvld = G * hd;
  const float scale = 1.0f / sqrtf(float(hd));
  int64_t row0 = 0;
  for (int32_t Ls : seq_lens) {
    const int64_t L = Ls, LL = L * L;
    if (L == 0) continue;
    const T* q0 = q + row0 * qld;
    const T* k0 = k + row0 * kvld;
    const T* v0 = v + row0 * kvld;
    const T* do0 = dout + row0 * qld;
    const unsigned blocks = blocks_exact(H * L, kWarps);
    for (int64_t j = 0; j < group; ++j)  // S_h = scale Q_h K_g^T (recomputed)
      gemm_strided_batched_f32out<T>(ctx, false, true, L, L, hd, scale, q0 + j * hd, qld,
                                     group * hd, k0, kvld, hd, 0.0f, ws.S + j * LL, L, group * LL,
                                     G);
    if (dv) {
      attention_probs_back_kernel<<<blocks, 32 * kWarps, 0, ctx.s()>>>(
          P, ws.S, nullptr, lse, dout, out, H, L, sh.n, row0, hd, qld, scale, false);
      WB_CUDA_CHECK_LAUNCH();
      for (int64_t j = 0; j < group; ++j)  // dV_g += P_h^T dO_h
        gemm_strided_batched<T>(ctx, true, false, L, hd, L, 1.0f, P + j * LL, L, group * LL,
                                do0 + j * hd, qld, group * hd, 1.0f, dv + row0 * kvld, kvld, hd,
                                G);
    }
    if (!dq && !dk) {
      row0 += L;
      continue;
    }
    for (int64_t j = 0; j < group; ++j)  // dP_h = dO_h V_g^T
      gemm_strided_batched_f32out<T>(ctx, false, true, L, L, hd, 1.0f, do0 + j * hd, qld,
                                     group * hd, v0, kvld, hd, 0.0f, ws.dP + j * LL, L,
                                     group * LL, G);
    attention_probs_back_kernel<<<blocks, 32 * kWarps, 0, ctx.s()>>>(
        P, ws.S, ws.dP, lse, dout, out, H, L, sh.n, row0, hd, qld, scale, true);
    WB_CUDA_CHECK_LAUNCH();
    for (int64_t j = 0; j < group; ++j) {
      if (dq)  // dQ_h += dS_h K_g
        gemm_strided_batched<T>(ctx, false, false, L, hd, L, 1.0f, P + j * LL, L, group * LL, k0,
                                kvld, hd, 1.0f, dq + row0 * qld + j * hd, qld, group * hd, G);
      if (dk)  // dK_g += dS_h^T Q_h
        gemm_strided_batched<T>(ctx, true, false, L, hd, L, 1.0f, P + j * LL, L, group * LL,
                                q0 + j * hd, qld, group * hd, 1.0f, dk + row0 * kvld, kvld, hd,
                                G);
    }
    row0 += L;
  }
}

#define WB_INST(T)                                                                            \
  template void attention_forward_gemm<T>(Context&, T*, float*, const T*, const T*, const T*, \
                                          const std::vector<int32_t>&, const AttentionShape&, \
                                          void*);                                             \
  template void attention_backward_gemm<T>(Context&, T*, T*, T*, const T*, const T*, const T*, \
                                           const T*, const T*, const float*,                  \
                                           const std::vector<int32_t>&, const AttentionShape&, \
                                           void*);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::cuda
