// Causal GQA attention through cuBLAS strided-batched GEMMs: attention_forward/backward of
// wb/kernels/attention.h on CUDA. Per sequence of length L, with query head h = g * group + j
// reading kv head g: one batched product over the kv heads g for each j < group, so a batch never
// writes one output twice (dk/dv of a kv head collect the group's heads one j at a time).
#include <algorithm>
#include <stdexcept>

#include "common.cuh"
#include "wb/cuda/stream.h"
#include "wb/kernels/attention.h"
#include "wb/kernels/gemm.h"

namespace wb::cuda {
using wb::kernels::AttentionShape;
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

// Sequence lengths from host cu_seqlens (the CPU backend's form of the boundaries).
std::vector<int32_t> lens_of(const int32_t* cu_seqlens, int64_t n_seqs) {
  std::vector<int32_t> lens;
  lens.reserve(size_t(n_seqs));
  for (int64_t s = 0; s < n_seqs; ++s) {
    if (cu_seqlens[s + 1] < cu_seqlens[s])
      throw std::invalid_argument("attention: cu_seqlens must be non-decreasing");
    lens.push_back(cu_seqlens[s + 1] - cu_seqlens[s]);
  }
  return lens;
}

size_t gemm_workspace(const AttentionShape& sh, int64_t max_len, size_t elem_size) {
  const size_t block = size_t(sh.n_heads) * size_t(max_len) * size_t(max_len);
  return block * (2 * sizeof(float) + elem_size);
}

}  // namespace
}  // namespace wb::cuda

// The training attention of wb/kernels/attention.h on the device: cuBLAS strided-batched GEMMs.
// Per sequence: S = scale Q K^T in fp32 for all heads at once, a causal row softmax into P
// (storage T; lse saved), O = P V. Backward recomputes S, then dV += P^T dO, dP = dO V^T,
// dS = P (dP - D) scale, dQ += dS K, dK += dS^T Q. The products are full L x L (masked), so work
// and the workspace are quadratic in the longest sequence (fp32 S and dP, P in T).
namespace wb::kernels {
using namespace wb::cuda;

template <typename T>
size_t attention_workspace_size(const int32_t* cu_seqlens, int64_t n_seqs,
                                const AttentionShape& sh, Context&) {
  return gemm_workspace(sh, max_len_of(lens_of(cu_seqlens, n_seqs)), sizeof(T));
}

template <typename T>
void attention_forward(T* out, acc_t<T>* lse, const T* q, const T* k, const T* v,
                       const int32_t* cu_seqlens, int64_t n_seqs, const AttentionShape& sh,
                       void* workspace, Context& ctx) {
  const std::vector<int32_t> seq_lens = lens_of(cu_seqlens, n_seqs);
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
      gemm_strided_batched_f32out<T>(false, true, L, L, hd, scale, q0 + j * hd, qld,
                                     group * hd, k0, kvld, hd, 0.0f, ws.S + j * LL, L, group * LL,
                                     G, ctx);
    causal_softmax_kernel<<<blocks_exact(H * L, kWarps), 32 * kWarps, 0, ctx.s()>>>(
        P, lse, ws.S, H, L, sh.n, row0);
    WB_CUDA_CHECK_LAUNCH();
    for (int64_t j = 0; j < group; ++j)  // O_h = P_h V_g
      gemm_strided_batched<T>(false, false, L, hd, L, 1.0f, P + j * LL, L, group * LL, v0,
                              kvld, hd, 0.0f, out + row0 * qld + j * hd, qld, group * hd, G, ctx);
    row0 += L;
  }
}

template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const acc_t<T>* lse, const int32_t* cu_seqlens,
                        int64_t n_seqs, const AttentionShape& sh, void* workspace,
                        Context& ctx) {
  const std::vector<int32_t> seq_lens = lens_of(cu_seqlens, n_seqs);
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
      gemm_strided_batched_f32out<T>(false, true, L, L, hd, scale, q0 + j * hd, qld,
                                     group * hd, k0, kvld, hd, 0.0f, ws.S + j * LL, L, group * LL,
                                     G, ctx);
    if (dv) {
      attention_probs_back_kernel<<<blocks, 32 * kWarps, 0, ctx.s()>>>(
          P, ws.S, nullptr, lse, dout, out, H, L, sh.n, row0, hd, qld, scale, false);
      WB_CUDA_CHECK_LAUNCH();
      for (int64_t j = 0; j < group; ++j)  // dV_g += P_h^T dO_h
        gemm_strided_batched<T>(true, false, L, hd, L, 1.0f, P + j * LL, L, group * LL,
                                do0 + j * hd, qld, group * hd, 1.0f, dv + row0 * kvld, kvld, hd,
                                G, ctx);
    }
    if (!dq && !dk) {
      row0 += L;
      continue;
    }
    for (int64_t j = 0; j < group; ++j)  // dP_h = dO_h V_g^T
      gemm_strided_batched_f32out<T>(false, true, L, L, hd, 1.0f, do0 + j * hd, qld,
                                     group * hd, v0, kvld, hd, 0.0f, ws.dP + j * LL, L,
                                     group * LL, G, ctx);
    attention_probs_back_kernel<<<blocks, 32 * kWarps, 0, ctx.s()>>>(
        P, ws.S, ws.dP, lse, dout, out, H, L, sh.n, row0, hd, qld, scale, true);
    WB_CUDA_CHECK_LAUNCH();
    for (int64_t j = 0; j < group; ++j) {
      if (dq)  // dQ_h += dS_h K_g
        gemm_strided_batched<T>(false, false, L, hd, L, 1.0f, P + j * LL, L, group * LL, k0,
                                kvld, hd, 1.0f, dq + row0 * qld + j * hd, qld, group * hd, G, ctx);
      if (dk)  // dK_g += dS_h^T Q_h
        gemm_strided_batched<T>(true, false, L, hd, L, 1.0f, P + j * LL, L, group * LL,
                                q0 + j * hd, qld, group * hd, 1.0f, dk + row0 * kvld, kvld, hd,
                                G, ctx);
    }
    row0 += L;
  }
}

#define WB_INST(T)                                                                            \
  template size_t attention_workspace_size<T>(const int32_t*, int64_t, const AttentionShape&,   \
                                              Context&);                                        \
  template void attention_forward<T>(T*, float*, const T*, const T*, const T*, const int32_t*,  \
                                     int64_t, const AttentionShape&, void*, Context&);          \
  template void attention_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,       \
                                      const T*, const float*, const int32_t*, int64_t,          \
                                      const AttentionShape&, void*, Context&);
WB_FOR_EACH_DTYPE(WB_INST)
#undef WB_INST

}  // namespace wb::kernels
