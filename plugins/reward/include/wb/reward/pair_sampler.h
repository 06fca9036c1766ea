// pair_sampler.h — two responses to the same prompt, for a labeler to compare (label.pair, the
// label_synthetic job, and later RLHF's rejection sampling).
//
// The prompt is rendered with the Llama 2 chat template as one user turn awaiting an answer
// (BOS + "[INST] {prompt} [/INST]"); each side samples with its own adapter (nullptr: the base
// model) and temperature (<= 0: greedy), stops at EOS or max_tokens, and is decoded to text.
// All sides of all prompts decode together in one batch (generate.h).
//
// Seeds: prompt i's side a samples with seed + 2i, side b with seed + 2i + 1, so a pair is
// reproducible from (seed, i) whatever else is in the batch.
//
// Names: side_label("pretrained", "chat-lora", 0.7) == "pretrained+chat-lora@T=0.7";
// without an adapter "pretrained@T=0.7" — what model_a / model_b of a comparison record.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "wb/llama/lora.h"
#include "wb/reward/model_cache.h"

namespace wb::reward {

struct SamplerSide {
  const llama::LoraAdapter<float>* adapter = nullptr;
  double temperature = 0.7;
};

struct SampledPair {
  std::string a, b;
};

// Throws std::invalid_argument for a prompt that does not fit the context (naming its index)
// or max_tokens < 1.
std::vector<SampledPair> sample_pairs(const LoadedModel& m, const std::vector<std::string>& prompts,
                                      const SamplerSide& a, const SamplerSide& b, int64_t max_tokens,
                                      uint64_t seed);

std::string side_label(const std::string& model, const std::string& adapter, double temperature);

}  // namespace wb::reward
