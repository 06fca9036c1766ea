// Causal multi-head attention with grouped-query heads over packed sequences, and single-token
// decode attention over a KV cache.
//
// Packed layout: rows i = 0..n-1 are the tokens of several sequences laid end to end;
// seq_start[i] is the first row of row i's sequence, so row i attends to rows
// j in [seq_start[i], i] (causal, never across sequences). q/out are [n, n_heads*head_dim],
// k/v are [n, n_kv_heads*head_dim]; query head h reads kv head h / (n_heads / n_kv_heads).
//   s_j = (q_i . k_j) / sqrt(head_dim),  p = softmax(s),  out_i = sum_j p_j v_j
//   lse_i = log sum_j exp(s_j)   (saved, fp32, [n_heads, n])
// Backward (with D_i = dout_i . out_i, dp_j = dout_i . v_j, ds_j = p_j (dp_j - D_i)):
//   dq_i += scale * sum_j ds_j k_j,  dk_j += scale * ds_j q_i,  dv_j += p_j dout_i
// The kernels are plain loops: one warp per (row, head), fp32 online softmax (as in
// FlashAttention's recurrence, without tiling). Backward runs one warp per query row for dq and
// one warp per key row for dk/dv, recomputing the probabilities from lse: no atomics, and the
// result does not depend on scheduling.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

struct AttentionShape {
  int64_t n = 0;           // packed rows
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;  // divides n_heads
  int64_t head_dim = 0;    // <= 256
};

// seq_start for rows packed as the CPU backend's cu_seqlens (host, n_seqs+1 entries) describe:
// row i of sequence s gets cu_seqlens[s]. Upload the result to the device once per batch.
std::vector<int32_t> seq_start_from_cu_seqlens(const int32_t* cu_seqlens, int64_t n_seqs);

// out[n, H*D], lse[H, n] (may be null when no backward follows).
template <typename T>
void attention_forward(Context& ctx, T* out, float* lse, const T* q, const T* k, const T* v,
                       const int32_t* seq_start, const AttentionShape& shape);

// fp32 elements of workspace attention_backward needs (D_i = dout_i . out_i per row and head).
int64_t attention_backward_workspace(const AttentionShape& shape);

// dq, dk, dv accumulate (+=). out and lse are the forward's.
template <typename T>
void attention_backward(Context& ctx, T* dq, T* dk, T* dv, const T* dout, const T* q,
                        const T* k, const T* v, const T* out, const float* lse,
                        const int32_t* seq_start, const AttentionShape& shape, float* workspace);

// The same attention (forward, and backward with dq/dk/dv accumulating; any may be null) through
// cuBLAS strided-batched GEMMs, the fast path for training and prefill at moderate lengths. Per
// sequence (host lengths seq_lens, packed in order, summing to shape.n): S = scale Q K^T in fp32
// for all heads at once, a causal row softmax into P (storage T; lse saved as above), O = P V.
// Backward recomputes S, then dV += P^T dO, dP = dO V^T, dS = P (dP - D) scale, dQ += dS K,
// dK += dS^T Q. The products are full L x L (masked), so work and the workspace are quadratic in
// the longest sequence: attention_gemm_workspace(shape, max_len, sizeof(T)) bytes (fp32 S and dP,
// P in T), which the caller allocates (device memory, 16-byte aligned).
size_t attention_gemm_workspace(const AttentionShape& shape, int64_t max_len, size_t elem_size);

template <typename T>
void attention_forward_gemm(Context& ctx, T* out, float* lse, const T* q, const T* k, const T* v,
                            const std::vector<int32_t>& seq_lens, const AttentionShape& shape,
                            void* workspace);

template <typename T>
void attention_backward_gemm(Context& ctx, T* dq, T* dk, T* dv, const T* dout, const T* q,
                             const T* k, const T* v, const T* out, const float* lse,
                             const std::vector<int32_t>& seq_lens, const AttentionShape& shape,
                             void* workspace);

// Decode: one new query per sequence b < batch, q[batch, H*D] -> out[batch, H*D], attending to
// positions 0..lengths[b]-1 of that sequence's cache (the new token's k/v already appended).
// Sequence b's cache is k_cache + b*cache_stride, laid out [max_len, n_kv_heads*head_dim].
// lengths[b] <= max_len. One block per (sequence, head); scores live in shared memory.
// slot (device, [batch], optional): row b reads cache slot[b] instead of b, so rows of several
// sequences in arbitrary cache slots, or several query rows of one sequence (a prompt chunk,
// lengths = position + 1), go in one call. Null: row b uses slot b.
template <typename T>
void attention_decode(Context& ctx, T* out, const T* q, const T* k_cache, const T* v_cache,
                      const int32_t* lengths, int64_t batch, int64_t max_len,
                      int64_t cache_stride, const AttentionShape& shape,
                      const int32_t* slot = nullptr);

// Appends rows: cache row positions[b] of sequence b gets k_new[b,:] / v_new[b,:].
// slot (device, [batch], optional): row b goes to cache slot[b] instead of b (null: b).
template <typename T>
void kv_cache_append(Context& ctx, T* k_cache, T* v_cache, const T* k_new, const T* v_new,
                     const int32_t* positions, int64_t batch, int64_t cache_stride,
                     int64_t kv_dim, const int32_t* slot = nullptr);

}  // namespace wb::cuda
