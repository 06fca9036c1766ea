#include "rm_scorer.h"

#include <stdexcept>

#ifdef WB_REWARD_CUDA
#include "wb/reward/gpu_scorer.h"
#endif

namespace wb::reward {

#ifdef WB_REWARD_CUDA
namespace {
GpuScorerCache& plugin_gpu_cache() {
  static GpuScorerCache cache;
  return cache;
}
}  // namespace
#endif

SequenceScorer rm_scorer(const ResolvedRm& r, const sft::DeviceChoice& device) {
  // Aliasing pointers: they keep the LoadedAdapter alive and point at its parts.
  const std::shared_ptr<const llama::LoraAdapter<float>> lora(r.rm, &r.rm->lora);
  const std::shared_ptr<const llama::ScalarHead<float>> head(r.rm, &*r.rm->head);
  if (device.cuda) {
#ifdef WB_REWARD_CUDA
    std::shared_ptr<GpuScorer> g = plugin_gpu_cache().get(r.base);
    return [g, lora, head](const std::vector<std::vector<int32_t>>& seqs) { return g->score(lora, *head, seqs); };
#else
    throw std::logic_error("rm_scorer: cuda asked of a build without the CUDA backend");
#endif
  }
  const std::shared_ptr<const LoadedModel> base = r.base;
  return [base, lora, head](const std::vector<std::vector<int32_t>>& seqs) {
    return score_sequences(base->model, lora.get(), *head, seqs);
  };
}

void release_gpu_scorers() {
#ifdef WB_REWARD_CUDA
  plugin_gpu_cache().clear();
#endif
}

}  // namespace wb::reward
