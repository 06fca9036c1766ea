// Causal scaled-dot-product attention with grouped-query heads, for packed sequences.
//
// Layout: q is [rows, n_heads*head_dim], k and v are [rows, n_kv_heads*head_dim] (post-RoPE),
// out is [rows, n_heads*head_dim]. Query head h reads kv head h / (n_heads / n_kv_heads).
// For one sequence of Lq queries over Lk >= Lq keys, query i sits at position Lk - Lq + i and
// attends keys 0 .. Lk - Lq + i (causal; Lq == Lk in training, Lq < Lk when decoding against a
// KV cache). Scale 1/sqrt(head_dim).
//
//   S = scale * Q K^T (masked)    P = softmax(S) by rows    O = P V    lse_i = log sum_j exp(S_ij)
//   D_i = dO_i . O_i    dV += P^T dO    dP = dO V^T    dS = P * (dP - D)
//   dQ += scale dS K    dK += scale dS^T Q
//
// Training keeps only lse (an accumulator, precision.h: fp32 for 16-bit T) for backward, which
// recomputes P = exp(S - lse) from q and k, as FlashAttention does: [rows, heads] saved instead of
// the [heads, L, L] probabilities. The products QK^T, PV and their backward are gemm() calls per
// (sequence, head) with strided leading dimensions (no copies); softmax is a plain loop.
//
// Packed batches: cu_seqlens (HOST memory on both backends, n_seqs+1 entries, cu_seqlens[0] = 0,
// increasing, cu_seqlens[n_seqs] = shape.n) gives each sequence's row range; attention never
// crosses a sequence boundary. lse is [n_heads, n] (head-major) on both backends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "wb/kernels/device.h"
#include "wb/kernels/precision.h"

namespace wb::kernels {

// Shape of a packed attention call (both backends).
struct AttentionShape {
  int64_t n = 0;           // packed rows
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // divides n_heads
  int64_t head_dim = 0;    // <= 256 on CUDA
};

// One sequence (the CPU KV-cache decode building block). Strides ldq/ldkv/ldo are row strides in
// elements. probs: [n_heads, Lq, Lk] output, or null; when null, scratch ([Lq*Lk] elements) is
// used and nothing is kept.
template <typename T>
void attention_forward_seq(T* out, int64_t ldo, T* probs, T* scratch, const T* q, int64_t ldq,
                           const T* k, const T* v, int64_t ldkv, int64_t Lq, int64_t Lk,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim);

// Bytes of workspace attention_forward and attention_backward need (the caller allocates it in
// the backend's memory, 16-byte aligned). CPU: two [L, L] matrices in T for the longest
// sequence. CUDA: fp32 scores and dP and P in T for all heads of the longest sequence.
template <typename T>
size_t attention_workspace_size(const int32_t* cu_seqlens, int64_t n_seqs,
                                const AttentionShape& shape);
template <typename T>
size_t attention_workspace_size(const int32_t* cu_seqlens, int64_t n_seqs,
                                const AttentionShape& shape, cuda::Context& ctx);

// Packed training/prefill forward (Lq == Lk per sequence): out, and lse (may be null when no
// backward follows).
template <typename T>
void attention_forward(T* out, acc_t<T>* lse, const T* q, const T* k, const T* v,
                       const int32_t* cu_seqlens, int64_t n_seqs, const AttentionShape& shape,
                       void* workspace);
template <typename T>
void attention_forward(T* out, acc_t<T>* lse, const T* q, const T* k, const T* v,
                       const int32_t* cu_seqlens, int64_t n_seqs, const AttentionShape& shape,
                       void* workspace, cuda::Context& ctx);

// Backward of attention_forward from its out and lse: accumulates into dq, dk, dv; each may be
// null (that product is skipped).
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const acc_t<T>* lse, const int32_t* cu_seqlens,
                        int64_t n_seqs, const AttentionShape& shape, void* workspace);
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k, const T* v,
                        const T* out, const acc_t<T>* lse, const int32_t* cu_seqlens,
                        int64_t n_seqs, const AttentionShape& shape, void* workspace,
                        cuda::Context& ctx);

// ---- CUDA only ----------------------------------------------------------------------------
// The same training attention as plain per-row kernels (one warp per (row, head), fp32 online
// softmax; backward one warp per query row for dq and one per key row for dk/dv, recomputing P
// from lse: no atomics). Memory is linear in the sequence length where attention_forward's
// cuBLAS workspace is quadratic, so the engine falls back to these for long sequences. They take
// a DEVICE seq_start[n] (row i's sequence starts at row seq_start[i]) instead of host
// cu_seqlens, so no host data is read at launch. The CPU has no such fallback: its workspace
// holds one sequence's [L, L] at a time.
std::vector<int32_t> seq_start_from_cu_seqlens(const int32_t* cu_seqlens, int64_t n_seqs);  // host
template <typename T>
void attention_forward_rows(T* out, acc_t<T>* lse, const T* q, const T* k, const T* v,
                            const int32_t* seq_start, const AttentionShape& shape,
                            cuda::Context& ctx);
// fp32 elements of workspace attention_backward_rows needs (D_i per row and head).
int64_t attention_rows_workspace(const AttentionShape& shape);
template <typename T>
void attention_backward_rows(T* dq, T* dk, T* dv, const T* dout, const T* q, const T* k,
                             const T* v, const T* out, const acc_t<T>* lse,
                             const int32_t* seq_start, const AttentionShape& shape,
                             float* workspace, cuda::Context& ctx);

// Decode on the device's KV cache layout. The CPU decodes with attention_forward_seq over its
// own cache (wb/llama/kv_cache.h); the device runs every row of a mixed batch in one launch.
//
// One new query per row b < batch, q[batch, H*D] -> out[batch, H*D], attending to positions
// 0..lengths[b]-1 of that row's cache (the new token's k/v already appended). Cache slot c is
// k_cache + c*cache_stride, laid out [max_len, n_kv_heads*head_dim]; lengths[b] <= max_len. One
// block per (row, head); scores live in shared memory. slot (device, [batch], or null): row b
// reads cache slot[b] instead of b, so rows of several sequences in arbitrary cache slots, or
// several query rows of one sequence (a prompt chunk, lengths = position + 1), go in one call.
// shape.n is unused (batch gives the rows).
template <typename T>
void attention_decode(T* out, const T* q, const T* k_cache, const T* v_cache,
                      const int32_t* lengths, int64_t batch, int64_t max_len,
                      int64_t cache_stride, const AttentionShape& shape, const int32_t* slot,
                      cuda::Context& ctx);
// Appends rows: cache row positions[b] of slot b (or slot[b] when slot is not null) gets
// k_new[b,:] / v_new[b,:].
template <typename T>
void kv_cache_append(T* k_cache, T* v_cache, const T* k_new, const T* v_new,
                     const int32_t* positions, int64_t batch, int64_t cache_stride,
                     int64_t kv_dim, const int32_t* slot, cuda::Context& ctx);

}  // namespace wb::kernels
