// Weights<T>: the base model's parameters with HF names and shapes (ARCHITECTURE.md §6):
//   model.embed_tokens.weight                       [V, D]
//   model.layers.N.input_layernorm.weight           [D]
//   model.layers.N.self_attn.{q,k,v,o}_proj.weight  q [H*hd, D], k/v [KV*hd, D], o [D, H*hd]
//   model.layers.N.post_attention_layernorm.weight  [D]
//   model.layers.N.mlp.{gate,up}_proj.weight        [F, D];  mlp.down_proj.weight [D, F]
//   model.norm.weight                               [D]
//   lm_head.weight                                  [V, D]  (absent when tie_word_embeddings)
// Random init is deterministic from (config, seed): every matrix ~ N(0, std^2) (std 0.02 as HF's
// initializer_range), norms = 1, each tensor drawn from its own stream seeded by hash(seed, name)
// so a tensor's values do not depend on the order tensors are created in.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "wb/llama/config.h"
#include "wb/llama/peft_config.h"
#include "wb/llama/tensor.h"

namespace wb::llama {

// The seven linear layers of a decoder layer (the LoRA targets) are named by peft_config.h's
// LoraModule (Q, K, V, O, Gate, Up, Down); kNumLinear indexes arrays by it.
inline constexpr int kNumLinear = 7;
// HF name prefix of a linear inside a layer: "self_attn.q_proj" / "mlp.gate_proj".
std::string linear_path(LoraModule m);
// {in, out} features of a linear for a config.
std::pair<int64_t, int64_t> linear_shape(const LlamaConfig& c, LoraModule m);

template <typename T>
struct LayerWeights {
  Tensor<T> input_layernorm;
  Tensor<T> q_proj, k_proj, v_proj, o_proj;
  Tensor<T> post_attention_layernorm;
  Tensor<T> gate_proj, up_proj, down_proj;

  // Inference packing (Weights::pack_fused): [Wq; Wk; Wv] as one [Q + 2 KV, D] matrix and
  // [Wgate; Wup] as one [2F, D], so a prefill runs one product per group instead of three and
  // two. While packed these own the values and q/k/v/gate/up_proj keep only their shapes (their
  // data is empty: no second copy); otherwise these two are empty.
  Tensor<T> qkv_proj, gate_up_proj;

  // The HF tensor of a linear. Its data is empty for q/k/v/gate/up while packed: read the
  // values through linear_ptr, which works either way.
  Tensor<T>& linear(LoraModule m);
  const Tensor<T>& linear(LoraModule m) const;
  // The [out, in] row-major values of a linear, packed or not.
  const T* linear_ptr(LoraModule m) const;
  bool packed() const { return !qkv_proj.empty(); }
};

template <typename T>
struct Weights {
  Tensor<T> embed_tokens;
  std::vector<LayerWeights<T>> layers;
  Tensor<T> norm;
  Tensor<T> lm_head;  // empty when the config ties embeddings

  // Every tensor shaped for `c` (c.validate() is called) and zero-filled.
  static Weights zeros(const LlamaConfig& c);
  // Deterministic random init (see the file comment).
  static Weights random(const LlamaConfig& c, uint64_t seed, double std = 0.02);

  // The [V, D] matrix the logits are computed with (lm_head, or embed_tokens when tied).
  const Tensor<T>& output_embedding() const { return lm_head.empty() ? embed_tokens : lm_head; }

  // Moves every layer's q/k/v and gate/up values into its fused matrices (LayerWeights::qkv_proj,
  // gate_up_proj), one layer at a time (peak memory: one layer's matrices more); no-op when
  // packed. unpack_fused() moves them back into the HF tensors. For inference only: while packed,
  // for_each throws std::logic_error, because checkpoints, merges, exports and optimizers need
  // the HF tensors; numel() and check_shapes() work either way.
  void pack_fused();
  void unpack_fused();
  bool packed() const { return !layers.empty() && layers.front().packed(); }

  // Visits every present tensor with its HF name, in a fixed order (embed, layers, norm, head).
  // Throws std::logic_error while packed (see pack_fused).
  void for_each(const std::function<void(const std::string&, Tensor<T>&)>& f);
  void for_each(const std::function<void(const std::string&, const Tensor<T>&)>& f) const;
  // Throws std::invalid_argument naming the first tensor whose shape does not match `c`.
  void check_shapes(const LlamaConfig& c) const;
  int64_t numel() const;
};

// A deterministic 64-bit stream seed for (seed, name) (FNV-1a of the name mixed by splitmix64).
uint64_t tensor_seed(uint64_t seed, const std::string& name);
// Fills `out` with N(0, std^2) values from the stream of `stream_seed`.
template <typename T>
void fill_normal(std::vector<T>& out, uint64_t stream_seed, double std);
// Fills `out` with U(-bound, bound) values from the stream of `stream_seed`.
template <typename T>
void fill_uniform(std::vector<T>& out, uint64_t stream_seed, double bound);

}  // namespace wb::llama
