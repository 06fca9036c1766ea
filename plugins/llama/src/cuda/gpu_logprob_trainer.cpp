// The GPU side of logprob_trainer.h: GpuLlama<float> with the policy as its trainable adapter and
// the reference as its frozen adapter (or the base alone), one base copy on the device.
#include <cmath>
#include <stdexcept>
#include <string>

#include "../device_factories.h"
#include "wb/cuda/stream.h"
#include "trained_state.h"
#include "wb/llama/cuda/gpu_llama.h"

namespace wb::llama::detail {

namespace {

using Gpu = gpu::GpuLlama<float>;
using S = Gpu::ParamState;

// Checked before the device model is built (member initialization order).
const Model<float>& policy_model(const Model<float>& m) {
  if (!m.lora || !m.trainable.lora || m.trainable.full || m.trainable.head)
    throw std::invalid_argument("gpu log-prob trainer: the policy LoRA must be the model's only trainable part");
  if (m.lora->config.lora_dropout > 0)
    throw std::invalid_argument("gpu log-prob trainer: LoRA dropout is not implemented on the GPU");
  m.validate();
  return m;
}

class GpuLogprobTrainer final : public LogprobTrainer {
 public:
  GpuLogprobTrainer(const Model<float>& m, const LoraAdapter<float>* reference)
      : config_(m.config), g_(ctx_, policy_model(m)), has_reference_(reference != nullptr) {
    g_.set_lora(*m.lora);
    if (reference) g_.set_frozen_lora(*reference);
    g_.set_trainable(m);
  }

  std::vector<double> row_logprobs(const Batch& batch, const std::vector<int32_t>& targets, double temperature,
                                   Use use) override {
    batch.validate(config_);
    if (!batch.positions.empty())
      for (int64_t s = 0; s < batch.n_seqs(); ++s)
        for (int64_t i = 0; i < batch.seq_len(s); ++i)
          if (batch.positions[size_t(batch.seq_begin(s) + i)] != i)
            throw std::invalid_argument("log-probs: the GPU needs positions 0.. within each sequence (sequence " +
                                        std::to_string(s) + ")");
    if (static_cast<int64_t>(targets.size()) != batch.n_tokens())
      throw std::invalid_argument("log-probs: " + std::to_string(targets.size()) + " targets for " +
                                  std::to_string(batch.n_tokens()) + " rows");
    if (!(temperature > 0) || !std::isfinite(temperature))
      throw std::invalid_argument("log-probs: the temperature must be a finite number > 0");
    policy_ready_ = false;
    const float inv_temp = static_cast<float>(1.0 / temperature);
    g_.use_adapter(use == Use::kPolicy ? Gpu::AdapterUse::kTrained
                                       : (has_reference_ ? Gpu::AdapterUse::kFrozen : Gpu::AdapterUse::kNone));
    std::vector<float> lp;
    try {
      g_.set_batch(batch);
      g_.forward();
      lp = g_.token_logprobs(targets, inv_temp);
    } catch (...) {
      g_.use_adapter(Gpu::AdapterUse::kTrained);
      throw;
    }
    g_.use_adapter(Gpu::AdapterUse::kTrained);
    if (use == Use::kPolicy) {
      policy_ready_ = true;
      targets_ = targets;
      inv_temp_ = inv_temp;
    }
    return std::vector<double>(lp.begin(), lp.end());
  }

  void backward(const std::vector<double>& coef) override {
    if (!policy_ready_)
      throw std::logic_error("log-prob backward: needs the policy's row_logprobs on this batch first");
    if (coef.size() != targets_.size())
      throw std::invalid_argument("log-prob backward: " + std::to_string(coef.size()) + " coefficients for " +
                                  std::to_string(targets_.size()) + " rows");
    const std::vector<float> c(coef.begin(), coef.end());
    policy_ready_ = false;  // the backward consumes the logits
    g_.token_logprob_backward(targets_, c, inv_temp_);
  }

  double grad_norm(double scale) override { return std::sqrt(g_.grad_sq_norm()) * scale; }

  void adamw_step(const AdamWConfig& config, double lr, int64_t step, double grad_scale) override {
    g_.adamw_step(config.step_args(lr, step, grad_scale, /*decay=*/true));
  }

  void zero_grads() override { g_.zero_grads(); }

  std::vector<NamedBuffer> weights() override {
    std::vector<NamedBuffer> out;
    for (size_t i = 0; i < g_.n_params(); ++i)
      out.push_back({g_.param_name(i), {g_.param_numel(i)}, g_.param_state_host(i, S::kWeight)});
    return out;
  }

  std::vector<AdamWSlot> moments() override {
    return trained_moments(g_);
  }

  void set_state(const std::vector<NamedBuffer>& weights, const std::vector<AdamWSlot>& moments) override {
    set_trained_state(g_, weights, moments, "log-prob trainer");
  }

  void sync_model(Model<float>& m) override { g_.trained_to_host(m); }

 private:
  LlamaConfig config_;
  cuda::Context ctx_;  // before g_: the device model enqueues on it
  Gpu g_;
  bool has_reference_;
  bool policy_ready_ = false;
  std::vector<int32_t> targets_;
  float inv_temp_ = 1.0f;
};

}  // namespace

std::unique_ptr<LogprobTrainer> make_gpu_logprob_trainer(const Model<float>& model,
                                                         const LoraAdapter<float>* reference) {
  return std::make_unique<GpuLogprobTrainer>(model, reference);
}

}  // namespace wb::llama::detail
