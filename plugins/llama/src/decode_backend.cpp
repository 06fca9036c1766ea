// The CPU side of decode_backend.h (llama::Decoder) and the factory.
#include "wb/llama/decode_backend.h"

#include "device_factories.h"
#include "wb/llama/decode.h"

#include <stdexcept>

namespace wb::llama {

void DecodeBackend::set_invariant_passes(bool on) {
  if (on) throw std::logic_error("this decode backend (" + device() + ") cannot run batch-invariant passes");
}

namespace {

class CpuSequence final : public BackendSequence {
 public:
  CpuSequence(const LlamaConfig& c, int64_t max_tokens) : seq(c, max_tokens) {}
  int64_t length() const override { return seq.length(); }
  int64_t max_tokens() const override { return seq.cache.max_tokens(); }
  DecodeSequence<float> seq;
};

class CpuBackend final : public DecodeBackend {
 public:
  CpuBackend(const Model<float>& model, bool batch_invariant, int64_t row_tile)
      : model_(model), decoder_(model), batch_invariant_(batch_invariant), row_tile_(row_tile) {}

  std::string device() const override { return "cpu"; }
  std::string device_name() const override { return "cpu"; }
  bool invariant_on_request() const override { return true; }
  void set_invariant_passes(bool on) override { invariant_passes_ = on; }

  std::unique_ptr<BackendSequence> open(int64_t max_tokens, const AdapterRef& adapter, float scale) override {
    auto s = std::make_unique<CpuSequence>(model_.config, max_tokens);  // the cache grows as it fills
    s->seq.adapter = adapter.lora;
    s->seq.adapter_scale = scale;
    return s;
  }

  std::unique_ptr<BackendSequence> fork(const BackendSequence& from) override {
    // KvCache holds its rows in vectors: the copy is the prefilled cache (adapter and scale too).
    return std::make_unique<CpuSequence>(static_cast<const CpuSequence&>(from));  // opened here
  }

  void forward(std::span<BackendSequence* const> seqs, const std::vector<std::vector<int32_t>>& feeds,
               std::vector<float>& logits, bool decode) override {
    std::vector<DecodeSequence<float>*> cpu;
    cpu.reserve(seqs.size());
    for (BackendSequence* s : seqs) cpu.push_back(&static_cast<CpuSequence*>(s)->seq);  // opened here
    // Only the decode pass mixes requests; a prompt chunk's pass is alone and uses plain BLAS.
    decoder_.set_row_invariant(decode && (batch_invariant_ || invariant_passes_));
    decoder_.set_row_tile(decode ? row_tile_ : 0);
    decoder_.forward(std::span<DecodeSequence<float>* const>(cpu.data(), cpu.size()), feeds, logits);
  }

 private:
  const Model<float>& model_;
  Decoder<float> decoder_;
  bool batch_invariant_;
  bool invariant_passes_ = false;  // set per pass by the server (a request asked for invariance)
  int64_t row_tile_;
};

}  // namespace

std::unique_ptr<DecodeBackend> make_decode_backend(const DeviceChoice& device, const Model<float>& model,
                                                   const DecodeBackendOptions& o) {
  if (!device.cuda) return std::make_unique<CpuBackend>(model, o.batch_invariant, o.row_tile);
#if WB_HAVE_CUDA
  return detail::make_gpu_decode_backend(model, o.gpu_dtype, o.max_seqs, o.max_context);
#else
  throw EngineError(ErrorKind::unsupported, cuda_unavailable());
#endif
}

}  // namespace wb::llama
