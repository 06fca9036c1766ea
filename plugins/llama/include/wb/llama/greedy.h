// greedy.h — greedy completions of a batch of prompts (e.g. an eval job's), on the device a
// DeviceChoice names, under generate()'s rules for a greedy request: at most max_tokens new tokens
// each, stopping at EOS (config.eos_token_id, not part of the output).
//
//   auto g = llama::make_greedy_completer(device, model, adapter ? &*adapter : nullptr);
//   auto outs = g->complete(prompts, max_tokens);   // outs[i]: the new tokens of prompt i
//
// The CPU runs generate() (generate.h). The GPU copies the model (and adapter) to the device once,
// then decodes each batch through the serving decoder (gpu::GpuDecoder): every prompt prefilled in
// one pass, then one pass per step over the rows still running — the same decode path serving
// runs.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "wb/llama/device.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"

namespace wb::llama {

class GreedyCompleter {
 public:
  virtual ~GreedyCompleter() = default;
  // prompts[i] (non-empty, ids in the vocabulary) gets at most max_tokens[i] (>= 1) new tokens;
  // prompt + max_tokens must fit the model's context. Throws std::invalid_argument for sizes that
  // differ or a bad prompt.
  virtual std::vector<std::vector<int32_t>> complete(const std::vector<std::vector<int32_t>>& prompts,
                                                     const std::vector<int64_t>& max_tokens) = 0;
};

// The CPU completer reads `model` and `adapter` (nullable) in place: both must outlive it. The GPU
// completer copies them (neither need outlive it); it throws cuda::CudaError (no device, out of
// memory), EngineError(unsupported) when this build has no CUDA backend.
std::unique_ptr<GreedyCompleter> make_greedy_completer(const DeviceChoice& device, const Model<float>& model,
                                                       const LoraAdapter<float>* adapter);

}  // namespace wb::llama
