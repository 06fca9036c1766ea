// The GPU side of decode_backend.h: gpu::GpuDecoder over a GpuLlama converted once from the CPU
// model, on a stream of its own. Adapters are uploaded when their owner loads them
// (adapter_upload) and freed with it.
#include <stdexcept>

#include "../device_factories.h"
#include "wb/cuda/device.h"
#include "wb/cuda/stream.h"
#include "wb/llama/cuda/gpu_decoder.h"

namespace wb::llama::detail {

namespace {

// An adapter's device copy.
template <typename T>
class GpuResident final : public DeviceAdapter {
 public:
  GpuResident(const LoraAdapter<float>& a, const LlamaConfig& c) : adapter(a, c) {}
  int64_t bytes() const override { return adapter.bytes(); }
  const gpu::GpuAdapter<T> adapter;
};

template <typename T>
class GpuSequence final : public BackendSequence {
 public:
  GpuSequence(gpu::GpuDecoder<T>& d, int64_t max_tokens) : seq(d, max_tokens) {}
  int64_t length() const override { return seq.length(); }
  int64_t max_tokens() const override { return seq.max_tokens(); }
  gpu::GpuDecodeSequence<T> seq;  // holds a KV-cache slot until the sequence ends
};

template <typename T>
class GpuBackend final : public DecodeBackend {
 public:
  GpuBackend(const Model<float>& m, int64_t max_seqs, int64_t max_context)
      : name_(cuda::device_info().name), config_(m.config), model_(ctx_, m), decoder_(model_, max_seqs, max_context) {
    ctx_.synchronize();  // the weights are on the device before the first pass
  }

  std::string device() const override { return "cuda"; }
  std::string device_name() const override { return name_; }
  bool one_pass() const override { return true; }

  AdapterUpload adapter_upload() override {
    const LlamaConfig c = config_;
    return [c](const LoraAdapter<float>& a) -> std::unique_ptr<DeviceAdapter> {
      return std::make_unique<GpuResident<T>>(a, c);
    };
  }

  std::unique_ptr<BackendSequence> open(int64_t max_tokens, const AdapterRef& adapter, float scale) override {
    auto s = std::make_unique<GpuSequence<T>>(decoder_, max_tokens);
    if (adapter.lora) {
      const auto* d = dynamic_cast<const GpuResident<T>*>(adapter.device);
      if (!d) throw std::logic_error("adapter '" + adapter.name + "' has no copy on the GPU");
      s->seq.adapter = &d->adapter;
    }
    s->seq.adapter_scale = scale;
    return s;
  }

  std::unique_ptr<BackendSequence> fork(const BackendSequence& from) override {
    const auto& f = static_cast<const GpuSequence<T>&>(from).seq;  // opened here
    auto s = std::make_unique<GpuSequence<T>>(decoder_, f.max_tokens());
    s->seq.adapter = f.adapter;
    s->seq.adapter_scale = f.adapter_scale;
    decoder_.copy_sequence(f, s->seq);
    return s;
  }

  void forward(std::span<BackendSequence* const> seqs, const std::vector<std::vector<int32_t>>& feeds,
               std::vector<float>& logits, bool /*decode: the GPU has one path*/) override {
    std::vector<gpu::GpuDecodeSequence<T>*> g;
    g.reserve(seqs.size());
    for (BackendSequence* s : seqs) g.push_back(&static_cast<GpuSequence<T>*>(s)->seq);  // opened here
    decoder_.forward(std::span<gpu::GpuDecodeSequence<T>* const>(g.data(), g.size()), feeds, logits);
  }

 private:
  cuda::Context ctx_;  // first: the model and the decoder enqueue on it
  std::string name_;
  LlamaConfig config_;
  gpu::GpuLlama<T> model_;
  gpu::GpuDecoder<T> decoder_;
};

}  // namespace

std::unique_ptr<DecodeBackend> make_gpu_decode_backend(const Model<float>& model, const std::string& dtype,
                                                       int64_t max_seqs, int64_t max_context) {
  if (dtype == "bf16") return std::make_unique<GpuBackend<cuda::bf16>>(model, max_seqs, max_context);
  if (dtype == "fp32") return std::make_unique<GpuBackend<float>>(model, max_seqs, max_context);
  throw std::invalid_argument("gpu_dtype must be \"bf16\" or \"fp32\", got \"" + dtype + "\"");
}

}  // namespace wb::llama::detail
