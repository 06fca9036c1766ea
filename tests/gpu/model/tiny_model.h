// Shared by the GPU model tests: the tiny Llama config (GQA, 2 layers), that model with a fresh
// LoRA adapter, and the CPU engine's
// continuation of a prompt, token by token through the full forward, with a caller's choice rule.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "wb/llama/batch.h"
#include "wb/llama/config.h"
#include "wb/llama/forward.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/llama/peft_config.h"
#include "wb/llama/workspace.h"

namespace gputest {

inline wb::llama::LlamaConfig tiny() {
  wb::llama::LlamaConfig c;
  c.hidden_size = 64;
  c.intermediate_size = 160;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = 97;
  c.max_position_embeddings = 128;
  return c;
}

// The tiny model (seed 21) with a fresh rank-4 adapter on all seven linears (seed 5; B = 0, as
// PEFT starts it).
inline wb::llama::Model<float> tiny_with_fresh_lora() {
  auto m = wb::llama::Model<float>::random(tiny(), 21);
  wb::llama::LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 8.0;
  lc.target_modules = wb::llama::all_lora_modules();
  m.lora = wb::llama::LoraAdapter<float>::init(m.config, lc, 5);
  return m;
}

using Pick = std::function<int32_t(std::span<const float> last_logits)>;

// Argmax, lowest id on ties (the CPU's greedy rule).
inline int32_t greedy(std::span<const float> l) {
  return int32_t(std::max_element(l.begin(), l.end()) - l.begin());
}

// k new tokens after `prompt` (the adapter in m.lora applied when set).
inline std::vector<int32_t> cpu_continuation(const wb::llama::Model<float>& m,
                                             const std::vector<int32_t>& prompt, int64_t k,
                                             const Pick& pick = greedy) {
  const int64_t V = m.config.vocab_size;
  std::vector<int32_t> seq = prompt, out;
  wb::llama::Workspace<float> ws;
  for (int64_t i = 0; i < k; ++i) {
    wb::llama::forward(m, wb::llama::Batch::pack({seq}), ws, wb::llama::ForwardOptions{});
    const float* last = ws.logits.data() + (int64_t(seq.size()) - 1) * V;
    out.push_back(pick(std::span<const float>(last, size_t(V))));
    seq.push_back(out.back());
  }
  return out;
}

}  // namespace gputest
