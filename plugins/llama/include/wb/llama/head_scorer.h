// head_scorer.h — a scalar head over the model's final hidden states (lora.h ScalarHead: a reward
// or value head r = w·h + b at each sequence's LAST token), on the device a DeviceChoice names.
//
//   auto s = llama::make_head_scorer(device, base);        // base: shared_ptr<const Model<float>>
//   std::vector<float> r = s->score(adapter, head, seqs);  // adapter: shared_ptr (may be null)
//
// The CPU computes score_head below (forward through base + adapter, packed batches of max_seqs
// sequences). The GPU scorer holds one base model on the device (its weights converted once,
// fp32: the CPU's scores to ~1e-6 relative) and one LoRA adapter at a time; scoring with another
// adapter uploads it in place of the resident one, so heads and adapters of the same base share
// it. Its activations are sized for the largest chunk scored so far (no logits).
//
// Threads: score() is safe to call from any thread (the GPU scorer takes its mutex: one stream, one
// batch at a time). Errors: std::invalid_argument for bad input (before anything runs);
// cuda::CudaError (an EngineError, out_of_memory when a chunk's activations do not fit) — after
// which the next score() starts afresh (adapter re-uploaded, activations reallocated).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "wb/llama/device.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"

namespace wb::llama {

// One score per sequence on the CPU: forward through `base` with `adapter` (nullptr: base alone;
// the model's own Model::lora is ignored), then the head at each sequence's last token, max_seqs
// sequences at a time. Thread-safe for a const model (each call has its own workspace). Throws
// std::invalid_argument for a head of another width or a batch the model refuses.
std::vector<float> score_head(const Model<float>& base, const LoraAdapter<float>* adapter, const ScalarHead<float>& head,
                              const std::vector<std::vector<int32_t>>& seqs, int64_t max_seqs = 32);

class HeadScorer {
 public:
  virtual ~HeadScorer() = default;
  // One score per sequence, as score_head(base, adapter.get(), head, seqs, max_seqs). The GPU
  // uploads the adapter unless it is the resident one (the same object: the scorer keeps a
  // reference to it, so its identity cannot be reused).
  virtual std::vector<float> score(const std::shared_ptr<const LoraAdapter<float>>& adapter,
                                   const ScalarHead<float>& head, const std::vector<std::vector<int32_t>>& seqs,
                                   int64_t max_seqs = 32) = 0;
  // How many adapters were copied to the device so far (0 on the CPU, which reads them in place).
  virtual int64_t adapter_uploads() const = 0;
};

// The scorer on device.cuda's side. The CPU scorer keeps `base` alive; the GPU scorer copies it
// (then `base` may go). On the GPU, throws cuda::CudaError when memory runs out,
// EngineError(unsupported) when this build has no CUDA backend.
std::unique_ptr<HeadScorer> make_head_scorer(const DeviceChoice& device, std::shared_ptr<const Model<float>> base);

}  // namespace wb::llama
