// LoRA adapters (PEFT layout) and the scalar head.
//
// The configuration (rank, alpha, dropout, targets, rslora) is peft_config.h's LoraConfig.
// LoraAdapter<T> holds A [r, in] ("lora_A") and B [out, r] ("lora_B") for each targeted linear
// of each layer. The update is  y += scale * B (A dropout(x)),  scale = LoraConfig::scale()
// (alpha / r, or alpha / sqrt(r) with use_rslora). Fresh adapters follow PEFT: A ~ kaiming-uniform
// (U(-1/sqrt(in), 1/sqrt(in))), B = 0, so a new adapter leaves the model's output unchanged.
// Tensor names are PEFT's keys without the adapter name:
//   base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight
//
// ScalarHead<T> is the reward/value head: r = dot(w, h_last) + b on the final normed hidden state
// at each sequence's last real token; names "score.weight" [D] and "score.bias" [1].
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wb/llama/config.h"
#include "wb/llama/peft_adapter.h"
#include "wb/llama/peft_config.h"
#include "wb/llama/tensor.h"
#include "wb/llama/weights.h"

namespace wb::llama {

template <typename T>
struct LoraAdapter {
  struct Pair {
    Tensor<T> A;  // [r, in]
    Tensor<T> B;  // [out, r]
    bool present() const { return !A.empty(); }
  };

  LoraConfig config;
  std::vector<std::array<Pair, kNumLinear>> layers;  // untargeted modules: empty tensors

  // Shaped for (model config, lora config), all zero.
  static LoraAdapter zeros(const LlamaConfig& c, const LoraConfig& lc);
  // PEFT init (A kaiming-uniform, B zero), deterministic from seed.
  static LoraAdapter init(const LlamaConfig& c, const LoraConfig& lc, uint64_t seed);

  T scale() const { return static_cast<T>(config.scale()); }
  const Pair* pair(int64_t layer, LoraModule m) const;  // nullptr when not targeted
  // PEFT key of a tensor: "base_model.model.model.layers.<l>.<self_attn|mlp>.<m>.lora_<A|B>.weight"
  static std::string key(int64_t layer, LoraModule m, bool is_b);
  // Visits every present tensor with its PEFT key (layer order, then module order, A then B).
  void for_each(const std::function<void(const std::string&, Tensor<T>&)>& f);
  void for_each(const std::function<void(const std::string&, const Tensor<T>&)>& f) const;
  int64_t numel() const;
  // Throws std::invalid_argument naming the first tensor whose shape does not fit `c`.
  void check_shapes(const LlamaConfig& c) const;

  // Conversion to / from the formats layer's PeftAdapter (f32 tensors, PEFT keys), which
  // load_peft_adapter / save_peft_adapter read and write. from_peft checks every shape against
  // `c` and throws std::invalid_argument naming the key that does not fit.
  static LoraAdapter from_peft(const PeftAdapter& p, const LlamaConfig& c);
  PeftAdapter to_peft() const;
};

template <typename T>
struct ScalarHead {
  Tensor<T> weight;  // [D]
  Tensor<T> bias;    // [1]

  static ScalarHead zeros(int64_t hidden);
  // weight ~ N(0, std^2), bias 0.
  static ScalarHead random(int64_t hidden, uint64_t seed, double std = 0.02);
  void for_each(const std::function<void(const std::string&, Tensor<T>&)>& f);
  void for_each(const std::function<void(const std::string&, const Tensor<T>&)>& f) const;
};

}  // namespace wb::llama
