// The GPU side of head_scorer.h: GpuLlama::forward_hidden() (the final normed hidden states) and
// the scalar head at each sequence's last row (GpuLlama::set_head / head_scores), in fp32.
#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>

#include "../device_factories.h"
#include "wb/cuda/stream.h"
#include "wb/llama/batch.h"
#include "wb/llama/cuda/gpu_llama.h"

namespace wb::llama::detail {

namespace {

class GpuHeadScorer final : public HeadScorer {
 public:
  explicit GpuHeadScorer(const Model<float>& base) : model_(ctx_, base) {}

  int64_t adapter_uploads() const override {
    std::lock_guard lock(mu_);
    return uploads_;
  }

  std::vector<float> score(const std::shared_ptr<const LoraAdapter<float>>& adapter, const ScalarHead<float>& head,
                           const std::vector<std::vector<int32_t>>& seqs, int64_t max_seqs) override {
    const LlamaConfig& c = model_.config();
    const int64_t D = c.hidden_size;
    if (head.weight.numel() != D)
      throw std::invalid_argument("reward head has " + std::to_string(head.weight.numel()) +
                                  " weights for hidden size " + std::to_string(D));
    // Every chunk is checked before anything runs (the CPU's Batch errors, with the same words).
    const size_t step = static_cast<size_t>(std::max<int64_t>(1, max_seqs));
    std::vector<Batch> chunks;
    for (size_t begin = 0; begin < seqs.size(); begin += step) {
      const size_t end = std::min(seqs.size(), begin + step);
      const std::vector<std::vector<int32_t>> part(seqs.begin() + static_cast<std::ptrdiff_t>(begin),
                                                   seqs.begin() + static_cast<std::ptrdiff_t>(end));
      Batch b = Batch::pack(part);
      b.validate(c);
      chunks.push_back(std::move(b));
    }
    // A CudaError below (e.g. out of device memory for a large chunk's activations) leaves the
    // scorer usable: GpuLlama::set_batch keeps no half-grown buffers and cuda::check clears the
    // error it reports, so the next call starts afresh.
    std::lock_guard lock(mu_);
    std::vector<float> out;
    out.reserve(seqs.size());
    use_adapter(adapter);
    model_.set_head(head);
    for (const Batch& b : chunks) {
      // GpuLlama derives positions 0.. per sequence and reads the rows packed as Batch::pack packs
      // them, so b.last_index (each sequence's last row) indexes hidden() directly.
      model_.set_batch(b);
      model_.forward_hidden();
      const std::vector<float> r = model_.head_scores(b.last_index);
      out.insert(out.end(), r.begin(), r.end());
    }
    return out;
  }

 private:
  // Makes `adapter` the resident LoRA (the "no adapter" state is an adapter targeting nothing).
  void use_adapter(const std::shared_ptr<const LoraAdapter<float>>& adapter) {
    if (resident_set_ && resident_ == adapter) return;
    resident_set_ = false;  // until the upload below has finished
    if (adapter) {
      model_.set_lora(*adapter);  // std::invalid_argument naming a tensor that does not fit
    } else {
      // GpuLlama has no "remove the adapter": an adapter that targets no module leaves every
      // linear to the base weights (GpuLlama::linear adds LoRA only where a module is on).
      LoraAdapter<float> none;
      none.config.r = 1;
      none.config.lora_alpha = 1.0;
      none.config.target_modules.clear();
      none.layers.resize(static_cast<size_t>(model_.config().num_hidden_layers));
      model_.set_lora(none);
    }
    resident_ = adapter;
    resident_set_ = true;
    ++uploads_;
  }

  mutable std::mutex mu_;
  cuda::Context ctx_;
  gpu::GpuLlama<float> model_;
  bool resident_set_ = false;
  std::shared_ptr<const LoraAdapter<float>> resident_;  // null: the base alone
  int64_t uploads_ = 0;
};

}  // namespace

std::unique_ptr<HeadScorer> make_gpu_head_scorer(const Model<float>& base) {
  return std::make_unique<GpuHeadScorer>(base);
}

}  // namespace wb::llama::detail
