// CPU causal GQA attention: per (sequence, head) two gemm() calls forward, four backward, with
// strided leading dimensions into the packed q/k/v rows; masked softmax as plain loops (float
// rows through the vectorised exp of vexp.h).
#include "wb/kernels/attention.h"

#include <algorithm>
#include <cmath>

#include <type_traits>

#include "vexp.h"
#include "wb/kernels/gemm.h"

namespace wb::kernels {

// Below this many elements a loop runs on one thread (team start-up costs more than it saves).
constexpr int64_t kParallelMin = 1 << 20;

namespace {
int64_t max_len(const int32_t* cu_seqlens, int64_t n_seqs) {
  int64_t m = 0;
  for (int64_t s = 0; s < n_seqs; ++s) m = std::max<int64_t>(m, cu_seqlens[s + 1] - cu_seqlens[s]);
  return m;
}
}  // namespace

template <typename T>
size_t attention_workspace_size(const int32_t* cu_seqlens, int64_t n_seqs,
                                const AttentionShape&) {
  const int64_t L = max_len(cu_seqlens, n_seqs);
  return size_t(2 * L * L) * sizeof(T);
}

namespace {
// In place on P [Lq, Lk] holding scaled scores: causal mask (query i sees keys
// <= Lk - Lq + i) and row softmax; masked entries become exactly 0.
// lse (or null): lse[i * lse_stride] = log sum_j exp(scores), the max-subtracted way.
template <typename T, typename L = T>
void causal_softmax(T* P, int64_t Lq, int64_t Lk, L* lse = nullptr, int64_t lse_stride = 1) {
  const int64_t off = Lk - Lq;
#pragma omp parallel for schedule(static) if (Lq * Lk > kParallelMin)
  for (int64_t i = 0; i < Lq; ++i) {
    T* row = P + i * Lk;
    const int64_t last = off + i;  // inclusive
    T mx = row[0];
    for (int64_t j = 1; j <= last; ++j) mx = std::max(mx, row[j]);
    double sum = 0;
    if constexpr (std::is_same_v<T, float>) {
      sum = detail::exp_sub_row(row, row, last + 1, mx);  // vectorised exp (vexp.h)
    } else {
      for (int64_t j = 0; j <= last; ++j) {
        row[j] = std::exp(row[j] - mx);
        sum += double(row[j]);
      }
    }
    if (lse) lse[i * lse_stride] = static_cast<L>(double(mx) + std::log(sum));
    const T inv = static_cast<T>(1.0 / sum);
    for (int64_t j = 0; j <= last; ++j) row[j] *= inv;
    for (int64_t j = last + 1; j < Lk; ++j) row[j] = T(0);
  }
}
}  // namespace

template <typename T>
void attention_forward_seq(T* out, int64_t ldo, T* probs, T* scratch, const T* q, int64_t ldq,
                           const T* k, const T* v, int64_t ldkv, int64_t Lq, int64_t Lk,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim) {
  const T scale = static_cast<T>(1.0 / std::sqrt(double(head_dim)));
  const int64_t group = n_heads / n_kv_heads;
  for (int64_t h = 0; h < n_heads; ++h) {
    const int64_t g = h / group;
    T* P = probs ? probs + h * Lq * Lk : scratch;
    // P = scale * Q_h K_g^T
    gemm<T>(false, true, Lq, Lk, head_dim, scale, q + h * head_dim, ldq, k + g * head_dim, ldkv,
            T(0), P, Lk);
    causal_softmax(P, Lq, Lk);
    // O_h = P V_g
    gemm<T>(false, false, Lq, head_dim, Lk, T(1), P, Lk, v + g * head_dim, ldkv, T(0),
            out + h * head_dim, ldo);
  }
}

template <typename T>
void attention_forward(T* out, acc_t<T>* lse, const T* q, const T* k, const T* v,
                       const int32_t* cu_seqlens, int64_t n_seqs, const AttentionShape& sh,
                       void* workspace) {
  const int64_t H = sh.n_heads, hd = sh.head_dim, group = H / sh.n_kv_heads;
  const int64_t ldq = H * hd, ldkv = sh.n_kv_heads * hd;
  const T scale = static_cast<T>(1.0 / std::sqrt(double(hd)));
  T* P = static_cast<T*>(workspace);
  for (int64_t s = 0; s < n_seqs; ++s) {
    const int64_t r0 = cu_seqlens[s], L = cu_seqlens[s + 1] - r0;
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / group;
      gemm<T>(false, true, L, L, hd, scale, q + r0 * ldq + h * hd, ldq, k + r0 * ldkv + g * hd,
              ldkv, T(0), P, L);
      causal_softmax(P, L, L, lse ? lse + h * sh.n + r0 : nullptr);
      gemm<T>(false, false, L, hd, L, T(1), P, L, v + r0 * ldkv + g * hd, ldkv, T(0),
              out + r0 * ldq + h * hd, ldq);
    }
  }
}

template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const acc_t<T>* lse, const int32_t* cu_seqlens,
                        int64_t n_seqs, const AttentionShape& sh, void* workspace) {
  const int64_t H = sh.n_heads, hd = sh.head_dim, group = H / sh.n_kv_heads;
  const int64_t ldq = H * hd, ldkv = sh.n_kv_heads * hd;
  const T scale = static_cast<T>(1.0 / std::sqrt(double(hd)));
  const int64_t Lmax = max_len(cu_seqlens, n_seqs);
  T* P = static_cast<T*>(workspace);
  T* dS = P + Lmax * Lmax;
  for (int64_t s = 0; s < n_seqs; ++s) {
    const int64_t r0 = cu_seqlens[s], L = cu_seqlens[s + 1] - r0;
    for (int64_t h = 0; h < H; ++h) {
      const int64_t g = h / group;
      const T* dO = dout + r0 * ldq + h * hd;
      const T* Oh = out + r0 * ldq + h * hd;
      const T* Qh = q + r0 * ldq + h * hd;
      const T* Kg = k + r0 * ldkv + g * hd;
      const T* Vg = v + r0 * ldkv + g * hd;
      const acc_t<T>* lse_h = lse + h * sh.n + r0;
      // P = exp(scale Q_h K_g^T - lse), recomputed (masked entries exactly 0)
      gemm<T>(false, true, L, L, hd, scale, Qh, ldq, Kg, ldkv, T(0), P, L);
#pragma omp parallel for schedule(static) if (L * L > kParallelMin)
      for (int64_t i = 0; i < L; ++i) {
        T* Pi = P + i * L;
        if constexpr (std::is_same_v<T, float>) {
          detail::exp_sub_row(Pi, Pi, i + 1, lse_h[i]);  // vectorised exp (vexp.h)
          std::fill(Pi + i + 1, Pi + L, T(0));
        } else {
          for (int64_t j = 0; j < L; ++j)
            Pi[j] = j <= i ? static_cast<T>(std::exp(double(Pi[j]) - double(lse_h[i]))) : T(0);
        }
      }
      // dV_g += P^T dO_h
      if (dv) gemm<T>(true, false, L, hd, L, T(1), P, L, dO, ldq, T(1), dv + r0 * ldkv + g * hd, ldkv);
      if (!dq && !dk) continue;
      // dP = dO_h V_g^T
      gemm<T>(false, true, L, L, hd, T(1), dO, ldq, Vg, ldkv, T(0), dS, L);
      // dS = P * (dP - D), D_i = dO_i . O_i (= rowsum(dP * P)); masked entries have P = 0
#pragma omp parallel for schedule(static) if (L * L > kParallelMin)
      for (int64_t i = 0; i < L; ++i) {
        const T* Pi = P + i * L;
        T* dSi = dS + i * L;
        double dot = 0;
        for (int64_t c = 0; c < hd; ++c) dot += double(dO[i * ldq + c]) * double(Oh[i * ldq + c]);
        const T d = static_cast<T>(dot);
        for (int64_t j = 0; j < L; ++j) dSi[j] = j <= i ? Pi[j] * (dSi[j] - d) : T(0);
      }
      // dQ_h += scale dS K_g ; dK_g += scale dS^T Q_h
      if (dq) gemm<T>(false, false, L, hd, L, scale, dS, L, Kg, ldkv, T(1), dq + r0 * ldq + h * hd, ldq);
      if (dk) gemm<T>(true, false, L, hd, L, scale, dS, L, Qh, ldq, T(1), dk + r0 * ldkv + g * hd, ldkv);
    }
  }
}

#define WB_INSTANTIATE(T)                                                                        \
  template void attention_forward_seq<T>(T*, int64_t, T*, T*, const T*, int64_t, const T*,       \
                                         const T*, int64_t, int64_t, int64_t, int64_t, int64_t,  \
                                         int64_t);                                               \
  template size_t attention_workspace_size<T>(const int32_t*, int64_t, const AttentionShape&);   \
  template void attention_forward<T>(T*, T*, const T*, const T*, const T*, const int32_t*,       \
                                     int64_t, const AttentionShape&, void*);                     \
  template void attention_backward<T>(T*, T*, T*, const T*, const T*, const T*, const T*,        \
                                      const T*, const T*, const int32_t*, int64_t,               \
                                      const AttentionShape&, void*);
WB_INSTANTIATE(float)
WB_INSTANTIATE(double)
#undef WB_INSTANTIATE

}  // namespace wb::kernels
