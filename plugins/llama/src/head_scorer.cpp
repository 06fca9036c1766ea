// The CPU side of head_scorer.h and the factory.
#include "wb/llama/head_scorer.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "device_factories.h"
#include "wb/kernels/scalar_head.h"
#include "wb/llama/batch.h"
#include "wb/llama/forward.h"
#include "wb/llama/workspace.h"

namespace wb::llama {

std::vector<float> score_head(const Model<float>& base, const LoraAdapter<float>* adapter, const ScalarHead<float>& head,
                              const std::vector<std::vector<int32_t>>& seqs, int64_t max_seqs) {
  if (head.weight.numel() != base.config.hidden_size)
    throw std::invalid_argument("reward head has " + std::to_string(head.weight.numel()) +
                                " weights for hidden size " + std::to_string(base.config.hidden_size));
  std::vector<float> out(seqs.size());
  Workspace<float> ws;
  ForwardOptions opts;
  opts.logits = false;
  const size_t step = static_cast<size_t>(std::max<int64_t>(1, max_seqs));
  for (size_t begin = 0; begin < seqs.size(); begin += step) {
    const size_t end = std::min(seqs.size(), begin + step);
    const std::vector<std::vector<int32_t>> part(seqs.begin() + static_cast<std::ptrdiff_t>(begin),
                                                 seqs.begin() + static_cast<std::ptrdiff_t>(end));
    const Batch b = Batch::pack(part);
    // One entry per sequence: the adapter, or explicitly none (an empty list would mean Model::lora).
    const std::vector<const LoraAdapter<float>*> adapters(part.size(), adapter);
    forward(base, b, ws, opts, adapters);
    kernels::scalar_head_forward<float>(out.data() + begin, ws.hidden.data(), b.last_index.data(),
                                        static_cast<int64_t>(part.size()), head.weight.ptr(), head.bias.data[0],
                                        base.config.hidden_size);
  }
  return out;
}

namespace {

class CpuHeadScorer final : public HeadScorer {
 public:
  explicit CpuHeadScorer(std::shared_ptr<const Model<float>> base) : base_(std::move(base)) {}
  std::vector<float> score(const std::shared_ptr<const LoraAdapter<float>>& adapter, const ScalarHead<float>& head,
                           const std::vector<std::vector<int32_t>>& seqs, int64_t max_seqs) override {
    return score_head(*base_, adapter.get(), head, seqs, max_seqs);
  }
  int64_t adapter_uploads() const override { return 0; }

 private:
  std::shared_ptr<const Model<float>> base_;
};

}  // namespace

std::unique_ptr<HeadScorer> make_head_scorer(const DeviceChoice& device, std::shared_ptr<const Model<float>> base) {
  if (!base) throw std::invalid_argument("make_head_scorer: no base model");
  if (!device.cuda) return std::make_unique<CpuHeadScorer>(std::move(base));
#if WB_HAVE_CUDA
  return detail::make_gpu_head_scorer(*base);
#else
  throw EngineError(ErrorKind::unsupported, cuda_unavailable());
#endif
}

}  // namespace wb::llama
