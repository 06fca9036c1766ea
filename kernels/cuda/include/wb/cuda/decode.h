// Decode-step helpers that keep a whole greedy decode on the device, so one captured CUDA graph
// of a step serves every step (no per-step host copies, no per-step synchronization):
//   decode_step_begin / decode_step_end  the step index lives in device memory (`step`), the
//       inputs of step t (token, position, attended length) are derived from it on the device;
//   rope_kv_append  the fused qkv projection's output -> rotated q, and rotated k and v written
//       into the KV cache at each sequence's position (rope_forward + kv_cache_append in one);
//   attention_decode_rope  that and attention_decode in one kernel.
#pragma once

#include <cstdint>

#include "wb/kernels/attention.h"
#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"

namespace wb::cuda {

using wb::kernels::AttentionShape;

// With t = *step, for each sequence b < batch: pos[b] = t, len[b] = t + 1 and, while
// t < prompt_len, tok[b] = prompts[b * prompt_len + t] (afterwards tok[b] keeps the token the
// previous step chose).
void decode_step_begin(Context& ctx, int32_t* tok, int32_t* pos, int32_t* len, const int32_t* step,
                       const int32_t* prompts, int64_t batch, int64_t prompt_len);

// With t = *step: if step t produced new token k = t - (prompt_len - 1) (0 <= k < n_new),
// out[b * n_new + k] = tok[b]; then *step = t + 1.
void decode_step_end(Context& ctx, int32_t* step, int32_t* out, const int32_t* tok, int64_t batch,
                     int64_t prompt_len, int64_t n_new);

// qkv[batch, ld] holds q (n_heads*head_dim), then k and v (n_kv_heads*head_dim each) per row.
// Writes q rotated by position pos[b] into q_out[batch, n_heads*head_dim]; k rotated and v as is
// into cache row pos[b] of sequence b (k_cache + b*cache_stride + pos[b]*kv_dim). Same rotation
// (HF rotate-half, angle in double) as rope_forward.
template <typename T>
void rope_kv_append(Context& ctx, T* q_out, T* k_cache, T* v_cache, const T* qkv, int64_t ld,
                    const int32_t* pos, int64_t batch, int64_t n_heads, int64_t n_kv_heads,
                    int64_t head_dim, float theta, int64_t cache_stride);

// rope_kv_append then attention_decode in one kernel, one block per (sequence, head): the block
// rotates its q and its kv head's new k, attends to cache rows 0..pos[b]-1 plus the new (k, v)
// held on chip, and the first query head of each kv group writes the new row into the cache.
// Same bits as the two calls (lengths = pos + 1); shape.n is the batch. Needs head_dim <= 256.
template <typename T>
void attention_decode_rope(Context& ctx, T* out, T* k_cache, T* v_cache, const T* qkv, int64_t ld,
                           const int32_t* pos, int64_t max_len, int64_t cache_stride,
                           const AttentionShape& shape, float theta);

}  // namespace wb::cuda
