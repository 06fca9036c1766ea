// gpu_scorer.h — reward-model scoring on the GPU (builds with the CUDA backend only: the target
// wb_reward_core defines WB_REWARD_CUDA when this header's code is compiled in).
//
// The same computation as scoring.h's score_sequences, on the engine's GPU model in fp32: a packed
// batch of token sequences -> GpuLlama::forward_hidden() (the final normed hidden states
// [n, hidden]) -> the scalar head r = w·h + b at each sequence's last row
// (GpuLlama::set_head / head_scores) -> the scores back to the host. With fp32 storage it returns the CPU's
// scores to ~1e-6 relative (checked to 1e-4 in tests/reward/gpu).
//
//   GpuScorerCache cache;                                   // one per process (the plugin's)
//   std::shared_ptr<GpuScorer> g = cache.get(base);         // base: shared_ptr<const LoadedModel>
//   std::vector<float> r = g->score(adapter, head, seqs);   // adapter: shared_ptr (may be null)
//
// Memory: one GpuScorer holds one base model on the device (its weights converted once) and one
// LoRA adapter at a time; scoring with another adapter uploads it in place of the resident one
// (GpuLlama::set_lora), so reward models of the same base share the base. The cache keeps a
// single scorer: asking for another base drops the old one (freed once no caller holds it).
// Activations are sized for the largest chunk scored so far (max_seqs sequences; no logits).
//
// Threads: score() takes the scorer's mutex (one stream, one batch at a time); the cache has
// its own. CUDA failures throw cuda::CudaError; bad input throws std::invalid_argument. After a
// CudaError such as out of device memory for a large chunk, the next score() starts afresh
// (adapter re-uploaded, activations reallocated).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "wb/cuda/buffer.h"
#include "wb/cuda/stream.h"
#include "wb/llama/cuda/gpu_llama.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/reward/model_cache.h"

namespace wb::reward {

class GpuScorer {
 public:
  // Converts `base`'s weights onto the current device (fp32). `base` need not outlive the scorer.
  // Throws cuda::CudaError when no device answers or memory runs out.
  explicit GpuScorer(const llama::Model<float>& base);

  // One score per sequence, as score_sequences(base, adapter.get(), head, seqs, max_seqs):
  // `adapter` null scores with the base alone. The adapter is uploaded unless it is the resident
  // one (the same object: the scorer keeps a reference to it, so its identity cannot be reused).
  // Throws std::invalid_argument for a head of another width, an adapter of another shape, an
  // empty sequence, one longer than the context, or a token outside the vocabulary.
  std::vector<float> score(const std::shared_ptr<const llama::LoraAdapter<float>>& adapter,
                           const llama::ScalarHead<float>& head,
                           const std::vector<std::vector<int32_t>>& seqs, int64_t max_seqs = 32);

  // How many adapters were uploaded so far (the resident one is reused: tests check this).
  int64_t adapter_uploads() const;
  const llama::LlamaConfig& config() const { return model_.config(); }

 private:
  // Makes `adapter` the resident LoRA (the "no adapter" state is an adapter targeting nothing).
  void use_adapter(const std::shared_ptr<const llama::LoraAdapter<float>>& adapter);

  mutable std::mutex mu_;
  cuda::Context ctx_;
  gpu::GpuLlama<float> model_;
  bool resident_set_ = false;
  std::shared_ptr<const llama::LoraAdapter<float>> resident_;  // null: the base alone
  int64_t uploads_ = 0;
};

// At most one resident GpuScorer, for the base model asked for last.
class GpuScorerCache {
 public:
  // The scorer of `base` (the same LoadedModel object: ModelCache hands out a new one when the
  // model's files change, and that builds a new scorer). Throws as GpuScorer's constructor.
  std::shared_ptr<GpuScorer> get(const std::shared_ptr<const LoadedModel>& base);
  void clear();

 private:
  std::mutex mu_;
  std::shared_ptr<const LoadedModel> base_;
  std::shared_ptr<GpuScorer> scorer_;
};

}  // namespace wb::reward
