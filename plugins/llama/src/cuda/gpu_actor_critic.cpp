// The GPU side of actor_critic_trainer.h: one GpuLlama<float> (one base copy on the device) with
// the policy in trainable slot 0, the value model's adapter + head in slot 1, and the reference as
// the frozen adapter (or the base alone).
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
using Part = ActorCriticTrainer::Part;

// Checked before the device model is built (member initialization order).
const Model<float>& checked_base(const Model<float>& base, const LoraAdapter<float>& policy,
                                 const LoraAdapter<float>& value) {
  base.weights.check_shapes(base.config);
  policy.check_shapes(base.config);
  value.check_shapes(base.config);
  if (policy.config.lora_dropout > 0 || value.config.lora_dropout > 0)
    throw std::invalid_argument("gpu actor-critic: LoRA dropout is not implemented on the GPU");
  return base;
}

// A model holding only an adapter (+ head) and its trainable set: what set_trainable and
// trained_to_host read (no base weights; full training is never on here).
Model<float> shell(const LlamaConfig& c, const LoraAdapter<float>& a, const ScalarHead<float>* head) {
  Model<float> m;
  m.config = c;
  m.lora = a;
  if (head) m.head = *head;
  m.trainable = Trainable{false, true, head != nullptr};
  return m;
}

void check_batch(const Batch& batch, const LlamaConfig& c, size_t n_targets, const char* what) {
  batch.validate(c);
  if (!batch.positions.empty())
    for (int64_t s = 0; s < batch.n_seqs(); ++s)
      for (int64_t i = 0; i < batch.seq_len(s); ++i)
        if (batch.positions[size_t(batch.seq_begin(s) + i)] != i)
          throw std::invalid_argument(std::string(what) + ": the GPU needs positions 0.. within each sequence (sequence " +
                                      std::to_string(s) + ")");
  if (n_targets != size_t(-1) && static_cast<int64_t>(n_targets) != batch.n_tokens())
    throw std::invalid_argument(std::string(what) + ": " + std::to_string(n_targets) + " targets for " +
                                std::to_string(batch.n_tokens()) + " rows");
}

float inverse_temperature(double temperature) {
  if (!(temperature > 0) || !std::isfinite(temperature))
    throw std::invalid_argument("log-probs: the temperature must be a finite number > 0");
  return static_cast<float>(1.0 / temperature);
}

class GpuActorCritic final : public ActorCriticTrainer {
 public:
  GpuActorCritic(const Model<float>& base, const LoraAdapter<float>& policy, const LoraAdapter<float>* reference,
                 const LoraAdapter<float>& value, const ScalarHead<float>& head)
      : config_(base.config),
        g_(ctx_, checked_base(base, policy, value)),
        policy_shell_(shell(base.config, policy, nullptr)),
        value_shell_(shell(base.config, value, &head)),
        has_reference_(reference != nullptr) {
    if (reference) g_.set_frozen_lora(*reference);
    g_.select_slot(kValueSlot);
    g_.set_lora(value);
    g_.set_head(head);
    g_.set_trainable(value_shell_);
    g_.select_slot(kPolicySlot);
    g_.set_lora(policy);
    g_.set_trainable(policy_shell_);
  }

  std::vector<double> policy_logprobs(const Batch& batch, const std::vector<int32_t>& targets, double temperature,
                                      std::vector<double>* entropy) override {
    check_batch(batch, config_, targets.size(), "log-probs");
    const float inv_temp = inverse_temperature(temperature);
    ready_ = Ready::kNone;
    g_.select_slot(kPolicySlot);
    g_.use_adapter(Gpu::AdapterUse::kTrained);
    g_.set_batch(batch);
    g_.forward();
    const std::vector<float> lp = g_.token_logprobs(targets, inv_temp);
    if (entropy) {
      const std::vector<float> e = g_.token_entropies(targets, inv_temp);
      entropy->assign(e.begin(), e.end());
    }
    ready_ = Ready::kPolicy;
    targets_ = targets;
    inv_temp_ = inv_temp;
    return std::vector<double>(lp.begin(), lp.end());
  }

  std::vector<double> reference_logprobs(const Batch& batch, const std::vector<int32_t>& targets,
                                         double temperature) override {
    check_batch(batch, config_, targets.size(), "log-probs");
    const float inv_temp = inverse_temperature(temperature);
    ready_ = Ready::kNone;
    g_.use_adapter(has_reference_ ? Gpu::AdapterUse::kFrozen : Gpu::AdapterUse::kNone);
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
    return std::vector<double>(lp.begin(), lp.end());
  }

  void policy_backward(const std::vector<double>& coef) override {
    if (ready_ != Ready::kPolicy)
      throw std::logic_error("policy backward: needs policy_logprobs on this batch first");
    if (coef.size() != targets_.size())
      throw std::invalid_argument("policy backward: " + std::to_string(coef.size()) + " coefficients for " +
                                  std::to_string(targets_.size()) + " rows");
    const std::vector<float> c(coef.begin(), coef.end());
    g_.select_slot(kPolicySlot);
    ready_ = Ready::kNone;  // the backward consumes the logits
    g_.token_logprob_backward(targets_, c, inv_temp_);
  }

  std::vector<double> values(const Batch& batch, const std::vector<int32_t>& rows) override {
    check_batch(batch, config_, size_t(-1), "values");
    ready_ = Ready::kNone;
    g_.select_slot(kValueSlot);
    g_.use_adapter(Gpu::AdapterUse::kTrained);
    g_.set_batch(batch);
    g_.forward_hidden();
    const std::vector<float> v = g_.head_values(rows);
    ready_ = Ready::kValue;
    rows_ = rows;
    return std::vector<double>(v.begin(), v.end());
  }

  void value_backward(const std::vector<double>& dv) override {
    if (ready_ != Ready::kValue) throw std::logic_error("value backward: needs values() on this batch first");
    if (dv.size() != rows_.size())
      throw std::invalid_argument("value backward: " + std::to_string(dv.size()) + " gradients for " +
                                  std::to_string(rows_.size()) + " rows");
    const std::vector<float> d(dv.begin(), dv.end());
    g_.select_slot(kValueSlot);
    ready_ = Ready::kNone;
    g_.head_values_backward(rows_, d);
  }

  double grad_norm(Part part, double scale) override {
    select(part);
    return std::sqrt(g_.grad_sq_norm()) * scale;
  }

  void adamw_step(Part part, const AdamWConfig& config, double lr, int64_t step, double grad_scale) override {
    select(part);
    g_.adamw_step(config.step_args(lr, step, grad_scale, /*decay=*/true));
  }

  void zero_grads(Part part) override {
    select(part);
    g_.zero_grads();
  }

  std::vector<NamedBuffer> weights(Part part) override {
    select(part);
    std::vector<NamedBuffer> out;
    for (size_t i = 0; i < g_.n_params(); ++i)
      out.push_back({g_.param_name(i), {g_.param_numel(i)}, g_.param_state_host(i, S::kWeight)});
    return out;
  }

  std::vector<AdamWSlot> moments(Part part) override {
    select(part);
    return trained_moments(g_);
  }

  void set_state(Part part, const std::vector<NamedBuffer>& weights, const std::vector<AdamWSlot>& moments) override {
    select(part);
    set_trained_state(g_, weights, moments, "actor-critic");
  }

  void sync_policy(LoraAdapter<float>& policy) override {
    g_.select_slot(kPolicySlot);
    g_.trained_to_host(policy_shell_);
    policy = *policy_shell_.lora;
  }

  void sync_value(LoraAdapter<float>& value, ScalarHead<float>& head) override {
    g_.select_slot(kValueSlot);
    g_.trained_to_host(value_shell_);
    value = *value_shell_.lora;
    head = *value_shell_.head;
  }

 private:
  static constexpr int kPolicySlot = 0, kValueSlot = 1;
  enum class Ready { kNone, kPolicy, kValue };  // which backward the last forward allows
  void select(Part p) { g_.select_slot(p == Part::kPolicy ? kPolicySlot : kValueSlot); }

  LlamaConfig config_;
  cuda::Context ctx_;  // before g_: the device model enqueues on it
  Gpu g_;
  Model<float> policy_shell_, value_shell_;
  bool has_reference_;
  Ready ready_ = Ready::kNone;
  std::vector<int32_t> targets_, rows_;
  float inv_temp_ = 1.0f;
};

}  // namespace

std::unique_ptr<ActorCriticTrainer> make_gpu_actor_critic(const Model<float>& base, const LoraAdapter<float>& policy,
                                                          const LoraAdapter<float>* reference,
                                                          const LoraAdapter<float>& value,
                                                          const ScalarHead<float>& value_head) {
  return std::make_unique<GpuActorCritic>(base, policy, reference, value, value_head);
}

}  // namespace wb::llama::detail
