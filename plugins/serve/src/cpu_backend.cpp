#include "cpu_backend.h"

#include "adapter_registry.h"

namespace wb::serve {

namespace {
class CpuSequence final : public BackendSequence {
 public:
  CpuSequence(const llama::LlamaConfig& c, int64_t max_tokens) : seq(c, max_tokens) {}
  int64_t length() const override { return seq.length(); }
  int64_t max_tokens() const override { return seq.cache.max_tokens(); }
  llama::DecodeSequence<float> seq;
};
}  // namespace

CpuBackend::CpuBackend(const llama::Model<float>& model, bool batch_invariant, int64_t row_tile)
    : model_(model), decoder_(model), batch_invariant_(batch_invariant), row_tile_(row_tile) {}

std::unique_ptr<BackendSequence> CpuBackend::open(int64_t max_tokens, const ResidentAdapter* adapter, float scale) {
  auto s = std::make_unique<CpuSequence>(model_.config, max_tokens);  // the cache grows as it fills
  s->seq.adapter = adapter ? &adapter->lora : nullptr;
  s->seq.adapter_scale = scale;
  return s;
}

void CpuBackend::forward(std::span<BackendSequence* const> seqs, const std::vector<std::vector<int32_t>>& feeds,
                         std::vector<float>& logits, bool decode) {
  std::vector<llama::DecodeSequence<float>*> cpu;
  cpu.reserve(seqs.size());
  for (BackendSequence* s : seqs) cpu.push_back(&static_cast<CpuSequence*>(s)->seq);  // opened here
  // Only the decode pass mixes requests; a prompt chunk's pass is alone and uses plain BLAS.
  decoder_.set_row_invariant(decode && batch_invariant_);
  decoder_.set_row_tile(decode ? row_tile_ : 0);
  decoder_.forward(std::span<llama::DecodeSequence<float>* const>(cpu.data(), cpu.size()), feeds, logits);
}

}  // namespace wb::serve
