// Causal scaled-dot-product attention with grouped-query heads, for packed sequences.
//
// Layout: q is [rows, n_heads*head_dim], k and v are [rows, n_kv_heads*head_dim] (post-RoPE),
// out is [rows, n_heads*head_dim]. Query head h reads kv head h / (n_heads / n_kv_heads).
// For one sequence of Lq queries over Lk >= Lq keys, query i sits at position Lk - Lq + i and
// attends keys 0 .. Lk - Lq + i (causal; Lq == Lk in training, Lq < Lk when decoding against a
// KV cache). Scale 1/sqrt(head_dim).
//
//   S = scale * Q K^T (masked)    P = softmax_rows(S)    O = P V
//   dV += P^T dO    dP = dO V^T    dS = P * (dP - rowsum(dP * P))    dQ += scale dS K    dK += scale dS^T Q
//
// The products QK^T, PV and their backward are gemm() calls per (sequence, head) with strided
// leading dimensions (no copies); softmax and its backward are plain loops.
//
// Packed batches: cu_seqlens (HOST memory, n_seqs+1 entries, cu_seqlens[0] = 0, increasing) gives
// each sequence's row range; attention never crosses a sequence boundary. The probabilities P
// are kept for backward in `probs`, laid out sequence by sequence, head by head, each block a
// row-major [L, L] matrix (upper triangle zero): see attention_probs_size().
#pragma once

#include <cstdint>

namespace wb::kernels {

// Elements needed for the saved probabilities of a packed batch: n_heads * sum_s L_s^2.
int64_t attention_probs_size(const int32_t* cu_seqlens, int64_t n_seqs, int64_t n_heads);
// Elements of scratch attention_backward needs: max_s L_s^2.
int64_t attention_scratch_size(const int32_t* cu_seqlens, int64_t n_seqs);

// One sequence (the KV-cache decode building block). Strides ldq/ldkv/ldo are row strides in
// elements. probs: [n_heads, Lq, Lk] output, or null; when null, scratch ([Lq*Lk] elements) is
// used and nothing is kept.
template <typename T>
void attention_forward_seq(T* out, int64_t ldo, T* probs, T* scratch, const T* q, int64_t ldq,
                           const T* k, const T* v, int64_t ldkv, int64_t Lq, int64_t Lk,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim);

// Packed training/prefill forward (Lq == Lk per sequence). probs: attention_probs_size()
// elements, written (kept for backward).
template <typename T>
void attention_forward(T* out, T* probs, const T* q, const T* k, const T* v,
                       const int32_t* cu_seqlens, int64_t n_seqs, int64_t n_heads,
                       int64_t n_kv_heads, int64_t head_dim);

// Backward of attention_forward: accumulates into dq, dk, dv; each may be null (that product is
// skipped). scratch: attention_scratch_size() elements.
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, T* scratch, const T* dout, const T* probs,
                        const T* q, const T* k, const T* v, const int32_t* cu_seqlens,
                        int64_t n_seqs, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim);

}  // namespace wb::kernels
