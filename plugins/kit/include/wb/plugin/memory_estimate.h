// memory_estimate.h — the peak host memory of a job on the Llama engine, for wb_plugin.estimate:
// the daemon refuses at submission a job that would not fit (docs/PROTOCOL.md, out_of_memory).
//
//   auto est = wb::plugin::estimate_training(config, batch, context, trainable);
//   emit(user, est.to_json().dump().c_str());
//
// fp32 throughout (the engine's working dtype). The figures are upper-bound approximations:
//   weights      4 bytes per parameter of the base model
//   optimizer    trainable parameters x 12 bytes (gradient + AdamW's two moments)
//   activations  per token of a micro-batch (batch x context), per layer: what the backward pass
//                keeps (residuals, norms, q/k/v, attention output, the SwiGLU intermediates) and
//                one row of attention probabilities per head; plus logits and their gradient
//   kv           generation: batch x (context) x layers x 2 x kv_dim floats
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

#include "wb/llama/config.h"

namespace wb::plugin {

struct MemoryEstimate {
  std::uint64_t weights = 0, optimizer = 0, activations = 0, kv = 0;
  std::uint64_t total() const { return weights + optimizer + activations + kv; }
  // {"bytes": total, "parts": {"weights", "optimizer", "activations", "kv"}}
  nlohmann::json to_json() const;
};

// Training with micro-batches of `batch` rows of `context` tokens; `trainable` parameters get
// gradients and optimizer state (all of them for full training, the adapter's for LoRA).
MemoryEstimate estimate_training(const llama::LlamaConfig& c, std::int64_t batch, std::int64_t context,
                                 std::int64_t trainable);
// Generation of `batch` sequences of up to `context` tokens (weights + KV cache + logits).
MemoryEstimate estimate_generation(const llama::LlamaConfig& c, std::int64_t batch, std::int64_t context);

}  // namespace wb::plugin
