#include "wb/reward/gpu_scorer.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "wb/cuda/check.h"
#include "wb/llama/batch.h"

namespace wb::reward {

GpuScorer::GpuScorer(const llama::Model<float>& base) : model_(ctx_, base) {}

int64_t GpuScorer::adapter_uploads() const {
  std::lock_guard lock(mu_);
  return uploads_;
}

void GpuScorer::use_adapter(const std::shared_ptr<const llama::LoraAdapter<float>>& adapter) {
  if (resident_set_ && resident_ == adapter) return;
  const llama::LlamaConfig& c = model_.config();
  resident_set_ = false;  // until the upload below has finished
  if (adapter) {
    model_.set_lora(*adapter);  // std::invalid_argument naming a tensor that does not fit
  } else {
    // GpuLlama has no "remove the adapter": an adapter that targets no module leaves every
    // linear to the base weights (GpuLlama::linear adds LoRA only where a module is on).
    llama::LoraAdapter<float> none;
    none.config.r = 1;
    none.config.lora_alpha = 1.0;
    none.config.target_modules.clear();
    none.layers.resize(static_cast<size_t>(c.num_hidden_layers));
    model_.set_lora(none);
  }
  resident_ = adapter;
  resident_set_ = true;
  ++uploads_;
}

std::vector<float> GpuScorer::score(const std::shared_ptr<const llama::LoraAdapter<float>>& adapter,
                                    const llama::ScalarHead<float>& head,
                                    const std::vector<std::vector<int32_t>>& seqs, int64_t max_seqs) {
  const llama::LlamaConfig& c = model_.config();
  const int64_t D = c.hidden_size;
  if (head.weight.numel() != D)
    throw std::invalid_argument("reward head has " + std::to_string(head.weight.numel()) +
                                " weights for hidden size " + std::to_string(D));
  // Every chunk is checked before anything runs (the CPU's Batch errors, with the same words).
  const size_t step = static_cast<size_t>(std::max<int64_t>(1, max_seqs));
  std::vector<llama::Batch> chunks;
  for (size_t begin = 0; begin < seqs.size(); begin += step) {
    const size_t end = std::min(seqs.size(), begin + step);
    const std::vector<std::vector<int32_t>> part(seqs.begin() + static_cast<std::ptrdiff_t>(begin),
                                                 seqs.begin() + static_cast<std::ptrdiff_t>(end));
    llama::Batch b = llama::Batch::pack(part);
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
  for (const llama::Batch& b : chunks) {
    // GpuLlama derives positions 0.. per sequence and reads the rows packed as Batch::pack packs
    // them, so b.last_index (each sequence's last row) indexes hidden() directly.
    model_.set_batch(b);
    model_.forward_hidden();
    const std::vector<float> r = model_.head_scores(b.last_index);
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

std::shared_ptr<GpuScorer> GpuScorerCache::get(const std::shared_ptr<const LoadedModel>& base) {
  if (!base) throw std::invalid_argument("GpuScorerCache::get: no base model");
  std::lock_guard lock(mu_);
  if (scorer_ && base_ == base) return scorer_;
  // Drop the old scorer before building the new one, so two bases are not resident at once
  // (unless a caller still holds the old one).
  scorer_.reset();
  base_.reset();
  scorer_ = std::make_shared<GpuScorer>(base->model);
  base_ = base;
  return scorer_;
}

void GpuScorerCache::clear() {
  std::lock_guard lock(mu_);
  scorer_.reset();
  base_.reset();
}

}  // namespace wb::reward
