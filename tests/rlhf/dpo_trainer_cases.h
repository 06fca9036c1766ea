// The DPO trainer tests' tiny world, shared by the CPU tests (dpo/test_dpo_trainer.cpp) and the GPU
// ones (gpu/test_gpu_dpo.cpp): a two-layer GQA config, a LoRA config on all seven linears, a base
// model and a non-trivial "SFT" adapter written to files, separable preference pairs, and their
// micro-batches in dpo_draws order. (Included by one file of each test program.)
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "wb/llama/adapter_io.h"
#include "wb/llama/model_io.h"
#include "wb/llama/rng.h"
#include "wb/rlhf/dpo_trainer.h"

namespace fs = std::filesystem;
using namespace wb;
using namespace wb::rlhf;

namespace {

llama::LlamaConfig small_config() {
  llama::LlamaConfig c;
  c.vocab_size = 64;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 64;
  return c;
}

llama::LoraConfig lora_config(int64_t r) {
  llama::LoraConfig lc;
  lc.r = r;
  lc.lora_alpha = 2.0 * static_cast<double>(r);
  lc.target_modules = llama::all_lora_modules();
  return lc;
}

// A base model and a non-trivial "SFT" adapter (B random, not zero) written to dir/base, dir/sft.
void write_base_and_sft(const fs::path& dir) {
  const auto m = llama::Model<float>::random(small_config(), 5);
  llama::save_model(dir / "base", m);
  auto sft = llama::LoraAdapter<float>::init(m.config, lora_config(4), 6);
  llama::Rng rng(7);
  for (auto& layer : sft.layers)
    for (auto& p : layer)
      if (p.present())
        for (int64_t i = 0; i < p.B.numel(); ++i) p.B.data[i] = 0.05f * (rng.uniform() - 0.5f);
  llama::save_adapter(dir / "sft", sft, "base");
}

// Pairs whose chosen answers use even tokens and rejected answers odd ones (separable).
std::vector<DpoExample> examples(size_t n) {
  std::vector<DpoExample> out;
  for (size_t k = 0; k < n; ++k) {
    auto seq = [&](int32_t parity) {
      AnswerSequence s;
      for (int32_t i = 0; i < 4; ++i) s.tokens.push_back(1 + static_cast<int32_t>((k * 7 + i * 3) % 60)), s.answer.push_back(0);
      for (int32_t i = 0; i < 3; ++i) s.tokens.push_back(2 * static_cast<int32_t>((k + i) % 30) + parity), s.answer.push_back(1);
      return s;
    };
    out.push_back({seq(0), seq(1), static_cast<int64_t>(k)});
  }
  return out;
}

std::vector<DpoBatch> batches(const std::vector<DpoExample>& ex, int64_t n, size_t per, uint64_t seed) {
  std::vector<DpoBatch> out;
  const auto order = dpo_draws(ex.size(), n * static_cast<int64_t>(per), seed);
  for (size_t i = 0; i < order.size(); i += per) {
    std::vector<const DpoExample*> g;
    for (size_t j = i; j < i + per; ++j) g.push_back(&ex[order[j]]);
    out.push_back(pack_dpo_batch(g));
  }
  return out;
}

// Every A then B of the adapter, layer by layer, concatenated.
std::vector<float> lora_values(const llama::LoraAdapter<float>& a) {
  std::vector<float> out;
  for (const auto& layer : a.layers)
    for (const auto& p : layer)
      if (p.present()) {
        out.insert(out.end(), p.A.data.begin(), p.A.data.end());
        out.insert(out.end(), p.B.data.begin(), p.B.data.end());
      }
  return out;
}

}  // namespace
