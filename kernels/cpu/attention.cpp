// CPU causal GQA attention: per (sequence, head) two gemm() calls forward, four backward, with
// strided leading dimensions into the packed q/k/v rows; masked softmax as plain loops.
#include "wb/kernels/attention.h"

#include <algorithm>
#include <cmath>

#include "wb/kernels/gemm.h"

namespace wb::kernels {

// Below this many elements a loop runs on one thread (team start-up costs more than it saves).
constexpr int64_t kParallelMin = 1 << 20;

int64_t attention_probs_size(const int32_t* cu_seqlens, int64_t n_seqs, int64_t n_heads) {
  int64_t total = 0;
  for (int64_t s = 0; s < n_seqs; ++s) {
    const int64_t L = cu_seqlens[s + 1] - cu_seqlens[s];
    total += L * L;
  }
  return total * n_heads;
}

int64_t attention_scratch_size(const int32_t* cu_seqlens, int64_t n_seqs) {
  int64_t m = 0;
  for (int64_t s = 0; s < n_seqs; ++s) {
    const int64_t L = cu_seqlens[s + 1] - cu_seqlens[s];
    m = std::max(m, L * L);
  }
  return m;
}

namespace {
// In place on P [Lq, Lk] holding scaled scores: causal mask (query i sees keys
// <= Lk - Lq + i) and row softmax; masked entries become exactly 0.
template <typename T>
void causal_softmax(T* P, int64_t Lq, int64_t Lk) {
  const int64_t off = Lk - Lq;
#pragma omp parallel for schedule(static) if (Lq * Lk > kParallelMin)
  for (int64_t i = 0; i < Lq; ++i) {
    T* row = P + i * Lk;
    const int64_t last = off + i;  // inclusive
    T mx = row[0];
    for (int64_t j = 1; j <= last; ++j) mx = std::max(mx, row[j]);
    double sum = 0;
    for (int64_t j = 0; j <= last; ++j) {
      row[j] = std::exp(row[j] - mx);
      sum += double(row[j]);
    }
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
void attention_forward(T* out, T* probs, const T* q, const T* k, const T* v,
                       const int32_t* cu_seqlens, int64_t n_seqs, int64_t n_heads,
                       int64_t n_kv_heads, int64_t head_dim) {
  const int64_t ldq = n_heads * head_dim, ldkv = n_kv_heads * head_dim;
  int64_t poff = 0;
  for (int64_t s = 0; s < n_seqs; ++s) {
    const int64_t r0 = cu_seqlens[s], L = cu_seqlens[s + 1] - r0;
    attention_forward_seq(out + r0 * ldq, ldq, probs + poff, static_cast<T*>(nullptr),
                          q + r0 * ldq, ldq, k + r0 * ldkv, v + r0 * ldkv, ldkv, L, L, n_heads,
                          n_kv_heads, head_dim);
    poff += n_heads * L * L;
  }
}

template <typename T>
void attention_backward(T* dq, T* dk, T* dv, T* scratch, const T* dout, const T* probs,
                        const T* q, const T* k, const T* v, const int32_t* cu_seqlens,
                        int64_t n_seqs, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim) {
  const T scale = static_cast<T>(1.0 / std::sqrt(double(head_dim)));
  const int64_t group = n_heads / n_kv_heads;
  const int64_t ldq = n_heads * head_dim, ldkv = n_kv_heads * head_dim;
  int64_t poff = 0;
  for (int64_t s = 0; s < n_seqs; ++s) {
    const int64_t r0 = cu_seqlens[s], L = cu_seqlens[s + 1] - r0;
    for (int64_t h = 0; h < n_heads; ++h) {
      const int64_t g = h / group;
      const T* P = probs + poff + h * L * L;
      const T* dO = dout + r0 * ldq + h * head_dim;
      const T* Qh = q + r0 * ldq + h * head_dim;
      const T* Kg = k + r0 * ldkv + g * head_dim;
      const T* Vg = v + r0 * ldkv + g * head_dim;
      // dV_g += P^T dO_h
      if (dv) gemm<T>(true, false, L, head_dim, L, T(1), P, L, dO, ldq, T(1), dv + r0 * ldkv + g * head_dim, ldkv);
      // dP = dO_h V_g^T
      T* dS = scratch;
      gemm<T>(false, true, L, L, head_dim, T(1), dO, ldq, Vg, ldkv, T(0), dS, L);
      // dS = P * (dP - rowsum(dP * P)); masked entries have P = 0 and so dS = 0
#pragma omp parallel for schedule(static) if (L * L > kParallelMin)
      for (int64_t i = 0; i < L; ++i) {
        const T* Pi = P + i * L;
        T* dSi = dS + i * L;
        double dot = 0;
        for (int64_t j = 0; j <= i; ++j) dot += double(dSi[j]) * double(Pi[j]);
        const T d = static_cast<T>(dot);
        for (int64_t j = 0; j < L; ++j) dSi[j] = j <= i ? Pi[j] * (dSi[j] - d) : T(0);
      }
      // dQ_h += scale dS K_g ; dK_g += scale dS^T Q_h
      if (dq) gemm<T>(false, false, L, head_dim, L, scale, dS, L, Kg, ldkv, T(1), dq + r0 * ldq + h * head_dim, ldq);
      if (dk) gemm<T>(true, false, L, head_dim, L, scale, dS, L, Qh, ldq, T(1), dk + r0 * ldkv + g * head_dim, ldkv);
    }
    poff += n_heads * L * L;
  }
}

#define WB_INSTANTIATE(T)                                                                        \
  template void attention_forward_seq<T>(T*, int64_t, T*, T*, const T*, int64_t, const T*,       \
                                         const T*, int64_t, int64_t, int64_t, int64_t, int64_t,  \
                                         int64_t);                                               \
  template void attention_forward<T>(T*, T*, const T*, const T*, const T*, const int32_t*,       \
                                     int64_t, int64_t, int64_t, int64_t);                        \
  template void attention_backward<T>(T*, T*, T*, T*, const T*, const T*, const T*, const T*,    \
                                      const T*, const int32_t*, int64_t, int64_t, int64_t,       \
                                      int64_t);
WB_INSTANTIATE(float)
WB_INSTANTIATE(double)
#undef WB_INSTANTIATE

}  // namespace wb::kernels
