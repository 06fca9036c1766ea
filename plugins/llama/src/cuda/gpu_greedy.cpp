// The GPU side of greedy.h: the model copied once (GpuLlama<float>, the CPU engine's fp32
// numerics), each batch decoded through a GpuDecoder sized for it, argmax on the host (the CPU
// sampler's greedy pick: the lowest id on ties).
#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

#include "../device_factories.h"
#include "wb/cuda/stream.h"
#include "wb/llama/cuda/gpu_decoder.h"
#include "wb/llama/rng.h"
#include "wb/llama/sampler.h"

namespace wb::llama::detail {

namespace {

class GpuGreedy final : public GreedyCompleter {
 public:
  GpuGreedy(const Model<float>& m, const LoraAdapter<float>* a) : model_(ctx_, m) {
    if (a) adapter_.emplace(*a, m.config);
    ctx_.synchronize();  // the weights are on the device before the first pass
  }

  std::vector<std::vector<int32_t>> complete(const std::vector<std::vector<int32_t>>& prompts,
                                             const std::vector<int64_t>& max_tokens) override {
    if (prompts.size() != max_tokens.size()) throw std::invalid_argument("gpu generation: one max_tokens per prompt");
    const LlamaConfig& c = model_.config();
    std::vector<std::vector<int32_t>> out(prompts.size());
    if (prompts.empty()) return out;
    int64_t rows = 1;  // the cache rows the longest sequence needs (its last token is not fed back)
    for (size_t i = 0; i < prompts.size(); ++i) {
      if (prompts[i].empty()) throw std::invalid_argument("gpu generation: prompt " + std::to_string(i) + " is empty");
      if (max_tokens[i] < 1) throw std::invalid_argument("gpu generation: max_tokens must be >= 1");
      rows = std::max(rows, static_cast<int64_t>(prompts[i].size()) + max_tokens[i] - 1);
    }
    gpu::GpuDecoder<float> dec(model_, static_cast<int64_t>(prompts.size()),
                               std::min(rows, c.max_position_embeddings));
    std::vector<std::unique_ptr<gpu::GpuDecodeSequence<float>>> seqs;
    for (size_t i = 0; i < prompts.size(); ++i) {
      seqs.push_back(std::make_unique<gpu::GpuDecodeSequence<float>>(dec));
      seqs.back()->adapter = adapter_ ? &*adapter_ : nullptr;
    }
    // Every prompt in the first pass, then one token per running row per pass.
    std::vector<size_t> running(prompts.size());
    for (size_t i = 0; i < running.size(); ++i) running[i] = i;
    std::vector<std::vector<int32_t>> feeds = prompts;
    std::vector<float> logits;
    SamplingParams greedy;
    greedy.temperature = 0;
    Rng unused(0);
    const int64_t V = c.vocab_size;
    while (!running.empty()) {
      std::vector<gpu::GpuDecodeSequence<float>*> batch;
      for (size_t i : running) batch.push_back(seqs[i].get());
      dec.forward(std::span<gpu::GpuDecodeSequence<float>* const>(batch.data(), batch.size()), feeds, logits);
      std::vector<size_t> next;
      std::vector<std::vector<int32_t>> next_feeds;
      for (size_t k = 0; k < running.size(); ++k) {
        const size_t i = running[k];
        const int32_t tok = sample_token(std::span<const float>(logits.data() + static_cast<int64_t>(k) * V,
                                                                static_cast<size_t>(V)),
                                         greedy, unused);
        if (tok == c.eos_token_id) continue;  // EOS ends the request, not part of the output
        out[i].push_back(tok);
        if (static_cast<int64_t>(out[i].size()) >= max_tokens[i]) continue;
        next.push_back(i);
        next_feeds.push_back({tok});
      }
      running = std::move(next);
      feeds = std::move(next_feeds);
    }
    return out;
  }

 private:
  cuda::Context ctx_;  // one stream for the job; first: the model enqueues on it
  gpu::GpuLlama<float> model_;
  std::optional<gpu::GpuAdapter<float>> adapter_;
};

}  // namespace

std::unique_ptr<GreedyCompleter> make_gpu_greedy(const Model<float>& model, const LoraAdapter<float>* adapter) {
  return std::make_unique<GpuGreedy>(model, adapter);
}

}  // namespace wb::llama::detail
