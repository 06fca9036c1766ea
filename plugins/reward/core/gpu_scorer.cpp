#include "wb/reward/gpu_scorer.h"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "wb/cuda/check.h"
#include "wb/cuda/scalar_head.h"
#include "wb/llama/batch.h"

namespace wb::reward {

GpuScorer::GpuScorer(const llama::Model<float>& base) : model_(ctx_, base) {
  head_w_ = cuda::DeviceBuffer<float>(static_cast<size_t>(base.config.hidden_size));
}

int64_t GpuScorer::adapter_uploads() const {
  std::lock_guard lock(mu_);
  return uploads_;
}

void GpuScorer::use_adapter(const std::shared_ptr<const llama::LoraAdapter<float>>& adapter) {
  if (resident_set_ && resident_ == adapter) return;
  const llama::LlamaConfig& c = model_.config();
  resident_set_ = false;  // until the upload below has finished
  if (adapter) {
    adapter->check_shapes(c);  // std::invalid_argument naming the tensor that does not fit
    if (static_cast<int64_t>(adapter->layers.size()) != c.num_hidden_layers)
      throw std::invalid_argument("adapter has " + std::to_string(adapter->layers.size()) + " layers for a " +
                                  std::to_string(c.num_hidden_layers) + "-layer model");
    model_.set_lora(*adapter);
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

  std::lock_guard lock(mu_);
  std::vector<float> out(seqs.size());
  try {
    use_adapter(adapter);
    cuda::upload(head_w_.data(), head.weight.ptr(), static_cast<size_t>(D), ctx_.s());
    const float bias = head.bias.data[0];
    size_t done = 0;
    for (const llama::Batch& b : chunks) {
      const int64_t S = b.n_seqs();
      std::vector<int32_t> lens(static_cast<size_t>(S));
      for (int64_t s = 0; s < S; ++s) lens[static_cast<size_t>(s)] = static_cast<int32_t>(b.seq_len(s));
      if (index_.size() < static_cast<size_t>(S) || scores_.size() < static_cast<size_t>(S)) {
        index_ = cuda::DeviceBuffer<int32_t>(static_cast<size_t>(S));
        scores_ = cuda::DeviceBuffer<float>(static_cast<size_t>(S));
      }
      // GpuLlama derives positions 0.. per sequence and reads the rows packed as Batch::pack packs
      // them, so b.last_index (each sequence's last row) indexes hidden() directly.
      model_.set_batch(b.tokens, lens);
      model_.forward_hidden();
      cuda::upload(index_.data(), b.last_index.data(), static_cast<size_t>(S), ctx_.s());
      // NaN first: a sequence the head kernel failed to write cannot pass for a score.
      cuda::fill_bytes(scores_.data(), 0xFF, static_cast<size_t>(S), ctx_.s());
      cuda::scalar_head_forward<float>(ctx_, scores_.data(), model_.hidden(), index_.data(), S, head_w_.data(),
                                       bias, D);
      cuda::download(out.data() + done, scores_.data(), static_cast<size_t>(S), ctx_.s());
      ctx_.synchronize();  // the host vectors above (lens, index) and `out` are settled
      done += static_cast<size_t>(S);
    }
  } catch (const cuda::CudaError&) {
    // E.g. out of device memory for a large chunk's activations: GpuLlama may be left with
    // half-grown buffers, and the failed cudaMalloc stays behind as this thread's last error (the
    // next launch check would report it). The next call re-uploads the adapter (set_lora drops
    // the activations, so its set_batch allocates them afresh), and the error is cleared.
    resident_set_ = false;
    (void)cudaGetLastError();
    throw;
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
