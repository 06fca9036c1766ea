#include "gpu_greedy.h"

#include <algorithm>
#include <map>
#include <stdexcept>

#ifdef WB_SFT_CUDA
#include "wb/cuda/stream.h"
#include "wb/llama/cuda/gpu_llama.h"
#endif

namespace wb::sft {

#ifdef WB_SFT_CUDA
struct GpuGreedy::Impl {
  Impl(const llama::Model<float>& m, const llama::LoraAdapter<float>* a) : gpu(ctx, m), with_lora(a) {
    if (a) gpu.set_lora(*a);
  }
  cuda::Context ctx;  // one stream for the job
  gpu::GpuLlama<float> gpu;
  bool with_lora;
};

GpuGreedy::GpuGreedy(const llama::Model<float>& model, const llama::LoraAdapter<float>* adapter)
    : impl_(std::make_unique<Impl>(model, adapter)) {}
#else
struct GpuGreedy::Impl {};

GpuGreedy::GpuGreedy(const llama::Model<float>&, const llama::LoraAdapter<float>*) {
  throw std::runtime_error("the sft plugin was built without CUDA: no GPU generation");
}
#endif

GpuGreedy::~GpuGreedy() = default;

std::vector<std::vector<int32_t>> GpuGreedy::complete(const std::vector<std::vector<int32_t>>& prompts,
                                                      const std::vector<int64_t>& max_tokens) {
  if (prompts.size() != max_tokens.size())
    throw std::invalid_argument("gpu generation: one max_tokens per prompt");
  std::vector<std::vector<int32_t>> out(prompts.size());
#ifdef WB_SFT_CUDA
  const int64_t eos = impl_->gpu.config().eos_token_id;
  // Prompts of one length decode together.
  std::map<size_t, std::vector<size_t>> by_len;
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (prompts[i].empty()) throw std::invalid_argument("gpu generation: prompt " + std::to_string(i) + " is empty");
    if (max_tokens[i] < 1) throw std::invalid_argument("gpu generation: max_tokens must be >= 1");
    by_len[prompts[i].size()].push_back(i);
  }
  for (const auto& [len, rows] : by_len) {
    std::vector<std::vector<int32_t>> group;
    int64_t n_new = 0;
    for (size_t i : rows) {
      group.push_back(prompts[i]);
      n_new = std::max(n_new, max_tokens[i]);
    }
    const auto ids = impl_->gpu.generate(group, n_new, impl_->with_lora);
    for (size_t k = 0; k < rows.size(); ++k) {
      const auto& g = ids[k];
      // The CPU's greedy request: stop at EOS (excluded) or after max_tokens.
      auto end = g.begin() + std::min<int64_t>(max_tokens[rows[k]], int64_t(g.size()));
      end = std::find(g.begin(), end, int32_t(eos));
      out[rows[k]].assign(g.begin(), end);
    }
  }
#endif
  return out;
}

}  // namespace wb::sft
