// gpu_greedy.h — greedy completions on the GPU for eval jobs: the base model (plus an adapter)
// copied once onto the device (GpuLlama<float>, the CPU engine's fp32 numerics), then batches of
// prompts completed with GpuLlama::generate under the CPU generate()'s rules for a greedy
// request: at most max_tokens new tokens each, stopping at EOS (config.eos_token_id, not part of
// the output).
//
//   GpuGreedy g(model, adapter ? &*adapter : nullptr);
//   auto outs = g.complete(prompts, max_tokens);   // outs[i]: the new tokens of prompt i
//
// GpuLlama::generate decodes prompts of one length together, so complete() groups the batch by
// prompt length (one decode per group; a group runs as long as its longest max_tokens).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "wb/llama/lora.h"
#include "wb/llama/model.h"

namespace wb::sft {

class GpuGreedy {
 public:
  // Throws std::runtime_error when the plugin was built without CUDA, or CUDA errors (no device,
  // out of memory). `model` and `adapter` are copied; neither needs to outlive this object.
  GpuGreedy(const llama::Model<float>& model, const llama::LoraAdapter<float>* adapter);
  ~GpuGreedy();
  GpuGreedy(const GpuGreedy&) = delete;
  GpuGreedy& operator=(const GpuGreedy&) = delete;

  // prompts[i] (non-empty, ids in the vocabulary) gets at most max_tokens[i] (>= 1) new tokens.
  // Throws std::invalid_argument for sizes that differ or a bad prompt.
  std::vector<std::vector<int32_t>> complete(const std::vector<std::vector<int32_t>>& prompts,
                                             const std::vector<int64_t>& max_tokens);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wb::sft
