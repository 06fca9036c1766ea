#include "rm_scorer.h"

#include <mutex>

#include "wb/llama/head_scorer.h"

namespace wb::reward {

namespace {

// At most one resident GPU scorer, for the base model asked for last (the same LoadedModel
// object: ModelCache hands out a new one when the model's files change, and that builds a new
// scorer).
class GpuScorerCache {
 public:
  std::shared_ptr<llama::HeadScorer> get(const llama::DeviceChoice& device, const std::shared_ptr<const LoadedModel>& base) {
    std::lock_guard lock(mu_);
    if (scorer_ && base_ == base) return scorer_;
    // Drop the old scorer before building the new one, so two bases are not resident at once
    // (unless a caller still holds the old one).
    scorer_.reset();
    base_.reset();
    scorer_ = llama::make_head_scorer(device, std::shared_ptr<const llama::Model<float>>(base, &base->model));
    base_ = base;
    return scorer_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    scorer_.reset();
    base_.reset();
  }

 private:
  std::mutex mu_;
  std::shared_ptr<const LoadedModel> base_;
  std::shared_ptr<llama::HeadScorer> scorer_;
};

GpuScorerCache& plugin_gpu_cache() {
  static GpuScorerCache cache;
  return cache;
}

}  // namespace

SequenceScorer rm_scorer(const ResolvedRm& r, const llama::DeviceChoice& device) {
  // Aliasing pointers: they keep the LoadedAdapter alive and point at its parts.
  const std::shared_ptr<const llama::LoraAdapter<float>> lora(r.rm, &r.rm->lora);
  const std::shared_ptr<const llama::ScalarHead<float>> head(r.rm, &*r.rm->head);
  const std::shared_ptr<llama::HeadScorer> s =
      device.cuda ? plugin_gpu_cache().get(device, r.base)
                  : std::shared_ptr<llama::HeadScorer>(
                        llama::make_head_scorer(device, std::shared_ptr<const llama::Model<float>>(r.base, &r.base->model)));
  return [s, lora, head](const std::vector<std::vector<int32_t>>& seqs) { return s->score(lora, *head, seqs); };
}

void release_gpu_scorers() { plugin_gpu_cache().clear(); }

}  // namespace wb::reward
