// A tiny float model and reward models over it, written by the tests themselves, for the
// rollout, PPO and rejection-sampling tests (every piece real: the engine's decoder, forward,
// backward and scorer).
#pragma once

#include <cmath>
#include <cstdint>
#include <vector>

#include "test_grad_common.h"
#include "wb/llama/forward.h"
#include "wb/rlhf/rollout.h"

namespace rlhftest {

using namespace wbtest;

inline Model<float> tiny_base(uint64_t seed, int64_t vocab = 37) {
  Model<float> m;
  m.config = tiny_config();
  m.config.vocab_size = vocab;
  m.weights = Weights<float>::random(m.config, seed, 0.2);
  return m;
}

inline LoraConfig small_lora(int64_t r = 2) {
  LoraConfig lc;
  lc.r = r;
  lc.lora_alpha = 2.0 * static_cast<double>(r);
  lc.target_modules = all_lora_modules();
  return lc;
}

// A LoRA whose B is random too (an adapter that changes the model).
inline LoraAdapter<float> moved_lora(const LlamaConfig& c, uint64_t seed, double std = 0.2) {
  auto a = LoraAdapter<float>::init(c, small_lora(), seed);
  randomize_b(a, seed + 1, std);
  return a;
}

inline std::vector<wb::rlhf::Prompt> prompts(int64_t n, int64_t len, int64_t vocab, uint64_t seed) {
  std::vector<wb::rlhf::Prompt> ps;
  for (int64_t i = 0; i < n; ++i) {
    wb::rlhf::Prompt p;
    p.tokens = tokens_for(seed + static_cast<uint64_t>(i), len, vocab);
    for (auto& t : p.tokens)
      if (t == 2) t = 3;  // keep EOS out of prompts
    ps.push_back(std::move(p));
  }
  return ps;
}

// A reward head over the base (no adapter) that prefers sequences ending in `token`: the
// difference of the mean final hidden states of sequences ending in it and of sequences ending in
// anything else (a linear discriminant fitted by the test on 64 random sequences), scaled.
inline ScalarHead<float> head_preferring(const Model<float>& base, int32_t token, double scale) {
  const int64_t D = base.config.hidden_size, V = base.config.vocab_size;
  std::vector<double> pos(static_cast<size_t>(D), 0.0), neg(static_cast<size_t>(D), 0.0);
  std::vector<std::vector<int32_t>> seqs;
  for (int i = 0; i < 64; ++i) {
    auto s = tokens_for(900 + static_cast<uint64_t>(i), 3 + i % 4, V);
    if (i % 2 == 0) s.back() = token;
    else if (s.back() == token) s.back() = (token + 1) % static_cast<int32_t>(V);
    seqs.push_back(std::move(s));
  }
  const Batch b = Batch::pack(seqs);
  Workspace<float> ws;
  ForwardOptions o;
  o.logits = false;
  forward(base, b, ws, o, std::vector<const LoraAdapter<float>*>(seqs.size(), nullptr));
  for (size_t s = 0; s < seqs.size(); ++s) {
    auto& acc = s % 2 == 0 ? pos : neg;
    for (int64_t d = 0; d < D; ++d) acc[static_cast<size_t>(d)] += ws.hidden[b.last_index[s] * D + d] / 32.0;
  }
  ScalarHead<float> h = ScalarHead<float>::zeros(D);
  double norm = 0;
  for (int64_t d = 0; d < D; ++d) norm += (pos[d] - neg[d]) * (pos[d] - neg[d]);
  norm = std::sqrt(norm);
  double mid = 0;  // centre the scores between the two means
  for (int64_t d = 0; d < D; ++d) {
    h.weight.data[static_cast<size_t>(d)] = static_cast<float>(scale * (pos[d] - neg[d]) / norm);
    mid += h.weight.data[static_cast<size_t>(d)] * 0.5 * (pos[d] + neg[d]);
  }
  h.bias.data[0] = static_cast<float>(-mid);
  return h;
}

// A head that scores every sequence `value` (weight 0): a safety model that never objects.
inline ScalarHead<float> constant_head(int64_t hidden, float value) {
  ScalarHead<float> h = ScalarHead<float>::zeros(hidden);
  h.bias.data[0] = value;
  return h;
}

}  // namespace rlhftest
