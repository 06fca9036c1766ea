// Workspace<T>: every activation of one forward pass, kept for backward, plus backward's scratch.
// One Workspace is reused across steps; buffers grow to the largest batch seen and are never
// shrunk, so steady-state training allocates nothing.
//
// Per layer l (rows N, D hidden, F intermediate, H heads, KV kv heads, hd head_dim):
//   layer_in[l]  [N, D]   residual stream entering layer l (layer_in[L] leaves the last layer)
//   acts[l]      LayerActs: the layer's internal activations. With recompute only acts[0]
//                exists and backward refills it layer by layer from layer_in.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "wb/llama/batch.h"
#include "wb/llama/model.h"

namespace wb::llama {

// The internal activations of one decoder layer for n rows. Also the scratch the per-layer
// decode functions (forward.h) write into: resize() it for the rows of a decode step.
template <typename T>
struct LayerActs {
  int64_t n = 0;
  std::vector<T> ln1, rstd1;      // input_layernorm output [n, D], 1/rms [n]
  std::vector<T> q, k, v;         // [n, H*hd], [n, KV*hd] x2 (q, k after RoPE)
  std::vector<T> lse;             // attention log-sum-exp [H, n] (kernels/attention.h), kept for backward
  std::vector<T> att;             // attention output before o_proj [n, H*hd]
  std::vector<T> x_mid;           // residual after attention [n, D]
  std::vector<T> ln2, rstd2;      // post_attention_layernorm [n, D], [n]
  std::vector<T> g, u, h;         // gate, up, silu(g)*u [n, F]
  // LoRA intermediates t = dropout(x) A^T, one block per adapter segment: rows*rank elements,
  // segment by segment in row order (kept for backward).
  std::array<std::vector<T>, kNumLinear> lora_t;
  std::vector<T> drop_x;          // scratch: dropped LoRA input of one segment (training only)

  // Sizes every buffer for n rows (lora_t_size[m] per module). Never shrinks capacity.
  void resize(const LlamaConfig& c, int64_t rows,
              const std::array<int64_t, kNumLinear>& lora_t_size);
};

template <typename T>
struct Workspace {
  // What the last forward ran with (backward replays it).
  ForwardOptions opts;
  Batch batch;
  std::vector<AdapterSegment<T>> segments;
  bool backward_ready = false;           // a forward with for_backward ran and is not consumed

  std::vector<std::vector<T>> layer_in;  // [L+1][N*D]
  std::vector<LayerActs<T>> acts;        // L entries, or 1 with recompute
  std::vector<T> final_rstd;             // [N]
  std::vector<T> hidden;                 // final normed hidden states [N, D]
  std::vector<T> logits;                 // [N, V] when opts.logits
  std::vector<T> head_values;            // [S] when opts.head

  // Backward scratch.
  std::vector<T> dres;                   // gradient of the residual stream [N, D]
  std::vector<T> dhidden, dln;           // [N, D]
  std::vector<T> dq, dk, dv, datt;       // [N, H*hd] / [N, KV*hd]
  std::vector<T> dg, du, dh;             // [N, F]
  std::vector<T> dlora_t;                // [N * max rank]
  std::vector<T> drop_x, drop_dx;        // dropped LoRA inputs and their grads [N * max(D,F)]
  std::vector<T> attn_scratch;           // kernels::attention_workspace_size (forward and backward)

  int64_t n_tokens() const { return batch.n_tokens(); }
  int64_t n_seqs() const { return batch.n_seqs(); }
  // Approximate bytes held (for logs and benchmarks).
  int64_t bytes() const;
};

}  // namespace wb::llama
