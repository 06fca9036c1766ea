// Shared helpers of the runtime tests (trainer, resume, decode, generate, adapters, merge):
// a small random Llama config, temp directories, synthetic training batches.
#pragma once


#include <cstdint>
#include <filesystem>

#include "wb_temp_dir.h"
#include <string>
#include <vector>

#include "wb/llama/config.h"
#include "wb/llama/rng.h"
#include "wb/llama/trainer.h"

namespace wb::llama::testing {

// 2 layers, GQA (4 heads over 2 kv heads), untied unless asked: small enough for fast tests,
// with every architectural feature present.
inline LlamaConfig small_config(bool tied = false, int64_t vocab = 96) {
  LlamaConfig c;
  c.hidden_size = 32;
  c.intermediate_size = 80;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = vocab;
  c.max_position_embeddings = 128;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = tied;
  return c;
}

using wbtest::TempDir;  // tests/common/wb_temp_dir.h

// Next-token batches over `seqs` packed sequences of length `len` each, drawn from a simple
// learnable pattern (t -> (a * t + b) mod V per sequence). The first `masked_prefix` rows of
// each sequence get mask 0 (the "prompt").
inline std::vector<TrainBatch> lm_batches(const LlamaConfig& c, int n_batches, int seqs, int len,
                                          uint64_t seed, int masked_prefix = 0) {
  Rng rng(seed);
  std::vector<TrainBatch> out;
  for (int b = 0; b < n_batches; ++b) {
    std::vector<std::vector<int32_t>> packed;
    for (int s = 0; s < seqs; ++s) {
      const int64_t a = 1 + static_cast<int64_t>(rng.below(3));
      int64_t t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(c.vocab_size)));
      std::vector<int32_t> seq;
      for (int i = 0; i < len; ++i) {
        seq.push_back(static_cast<int32_t>(t));
        t = (a * t + 1) % c.vocab_size;
      }
      packed.push_back(seq);
    }
    TrainBatch tb;
    tb.batch = Batch::pack(packed);
    for (int s = 0; s < seqs; ++s)
      for (int i = 0; i < len; ++i) {
        tb.targets.push_back(i + 1 < len ? packed[s][i + 1] : -1);
        tb.mask.push_back(i < masked_prefix ? 0.0f : 1.0f);
      }
    out.push_back(std::move(tb));
  }
  return out;
}

// Preference batches for the ranking loss: `pairs` pairs per batch; chosen sequences end with
// token 3, rejected with token 4 (a learnable signal), with margins 1, 2/3, 1/3, 0 cycling.
inline std::vector<TrainBatch> ranking_batches(const LlamaConfig& c, int n_batches, int pairs,
                                               int len, uint64_t seed) {
  Rng rng(seed);
  const float margins[4] = {1.0f, 2.0f / 3, 1.0f / 3, 0.0f};
  std::vector<TrainBatch> out;
  for (int b = 0; b < n_batches; ++b) {
    std::vector<std::vector<int32_t>> chosen, rejected;
    TrainBatch tb;
    for (int p = 0; p < pairs; ++p) {
      std::vector<int32_t> prompt;
      for (int i = 0; i + 1 < len; ++i)
        prompt.push_back(static_cast<int32_t>(5 + rng.below(static_cast<uint64_t>(c.vocab_size - 5))));
      chosen.push_back(prompt);
      chosen.back().push_back(3);
      rejected.push_back(prompt);
      rejected.back().push_back(4);
      tb.margins.push_back(margins[(b + p) % 4]);
    }
    std::vector<std::vector<int32_t>> all = chosen;
    all.insert(all.end(), rejected.begin(), rejected.end());
    tb.batch = Batch::pack(all);
    out.push_back(std::move(tb));
  }
  return out;
}

}  // namespace wb::llama::testing
