// The CPU side of greedy.h (generate()) and the factory.
#include "wb/llama/greedy.h"

#include <stdexcept>

#include "device_factories.h"
#include "wb/llama/generate.h"

namespace wb::llama {

namespace {

class CpuGreedy final : public GreedyCompleter {
 public:
  CpuGreedy(const Model<float>& m, const LoraAdapter<float>* a) : model_(m), adapter_(a) {}
  std::vector<std::vector<int32_t>> complete(const std::vector<std::vector<int32_t>>& prompts,
                                             const std::vector<int64_t>& max_tokens) override {
    if (prompts.size() != max_tokens.size()) throw std::invalid_argument("generation: one max_tokens per prompt");
    std::vector<GenerateRequest> reqs(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      reqs[i].prompt = prompts[i];
      reqs[i].max_tokens = max_tokens[i];
      reqs[i].adapter = adapter_;
      reqs[i].sampling.temperature = 0;  // greedy
    }
    std::vector<std::vector<int32_t>> out;
    out.reserve(prompts.size());
    for (auto& r : generate(model_, reqs)) out.push_back(std::move(r.tokens));
    return out;
  }

 private:
  const Model<float>& model_;
  const LoraAdapter<float>* adapter_;
};

}  // namespace

std::unique_ptr<GreedyCompleter> make_greedy_completer(const DeviceChoice& device, const Model<float>& model,
                                                       const LoraAdapter<float>* adapter) {
  if (!device.cuda) return std::make_unique<CpuGreedy>(model, adapter);
#if WB_HAVE_CUDA
  return detail::make_gpu_greedy(model, adapter);
#else
  throw EngineError(ErrorKind::unsupported, cuda_unavailable());
#endif
}

}  // namespace wb::llama
