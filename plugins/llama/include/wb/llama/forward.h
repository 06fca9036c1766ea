// Forward pass of the Llama model over a packed Batch (batch.h), and the per-layer pieces the
// KV-cache decoder calls.
//
//   x = embed(tokens)
//   per layer:  a = rmsnorm(x) ; q,k,v = a Wq^T, a Wk^T, a Wv^T (+ LoRA) ; rope(q,k)
//               x = x + attention(q,k,v) Wo^T (+ LoRA)
//               m = rmsnorm(x) ; x = x + (silu(m Wg^T) * (m Wu^T)) Wd^T (+ LoRA on g, u, d)
//   hidden = rmsnorm(x) ; logits = hidden Wout^T ; head_s = dot(hidden[last_s], w) + b
#pragma once

#include <cstdint>
#include <type_traits>
#include <vector>

#include "wb/llama/batch.h"
#include "wb/llama/model.h"
#include "wb/llama/workspace.h"

namespace wb::llama {

// Runs the model. `adapters`: empty = Model::lora (if any) on every sequence; otherwise one entry
// per sequence (nullptr = base only). Results: ws.logits [N,V], ws.hidden [N,D], ws.head_values
// [S]. Throws std::invalid_argument for an invalid batch (Batch::validate), an adapter whose
// shapes do not fit, or opts.head without a head. Nothing of the model is modified.
template <typename T>
void forward(const Model<T>& m, const Batch& batch, Workspace<T>& ws, const ForwardOptions& opts,
             const std::vector<const LoraAdapter<T>*>& adapters = {});

// Per-sequence adapter choice -> row segments (adjacent sequences with the same adapter merge).
template <typename T>
std::vector<AdapterSegment<T>> adapter_segments(const Model<T>& m, const Batch& batch,
                                                const std::vector<const LoraAdapter<T>*>& adapters);

// ---- per-layer pieces (KV-cache decode; forward() is built from the same functions) ---------
// Decode loop for rows of new tokens x [n, D] (n = sum of new tokens over running sequences):
//   embed(m, tokens, n, x)
//   for each layer l:
//     layer_qkv(m, l, x, positions, n, segs, acts, opts)     // acts.q / acts.k / acts.v
//     append acts.k / acts.v rows to each sequence's cache; for each sequence
//       kernels::attention_forward_seq(acts.att + row*H*hd, ...)  (its q rows over its cache)
//     layer_out_mlp(m, l, x, segs, acts, opts, x)            // x <- layer output (in place ok)
//   final_norm(m, x, n, hidden, nullptr); lm_head(m, hidden, n, logits)
// layer_qkv sizes acts for n rows itself (buffers only grow), so one LayerActs can serve every
// layer and every step. The caller's attention writes acts.att [n, H*hd].

template <typename T>
void embed(const Model<T>& m, const int32_t* tokens, int64_t n, T* x);

template <typename T>
void layer_qkv(const Model<T>& m, int64_t layer, const T* x, const int32_t* positions, int64_t n,
               const std::vector<AdapterSegment<T>>& segments, LayerActs<T>& acts,
               const ForwardOptions& opts);

// Consumes acts.att; writes x_out = x + o_proj(att) + mlp(...). x_out may equal x.
template <typename T>
void layer_out_mlp(const Model<T>& m, int64_t layer, const T* x,
                   const std::vector<AdapterSegment<T>>& segments, LayerActs<T>& acts,
                   const ForwardOptions& opts, T* x_out);

// hidden[n, D] = rmsnorm(x) with model.norm; rstd[n] may be null.
template <typename T>
void final_norm(const Model<T>& m, const T* x, int64_t n, T* hidden, std::type_identity_t<T>* rstd);

// logits[n, V] = hidden Wout^T.
template <typename T>
void lm_head(const Model<T>& m, const T* hidden, int64_t n, T* logits);

}  // namespace wb::llama
