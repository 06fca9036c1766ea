#include "wb/rlhf/ppo_step.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>

#include "wb/llama/checkpoint.h"
#include "wb/llama/rng.h"
#include "wb/rlhf/ppo_model.h"

namespace wb::rlhf {
namespace {

// Moves an adapter (and a head) into the shared model for one forward/backward and back out when
// it ends, so a single base serves the policy and the value model in turn. Moving an optional
// moves the tensors' std::vector storage without reallocating, so the optimizers' pointers into
// it stay valid whichever side holds it.
class Mounted {
 public:
  Mounted(llama::Model<float>& m, std::optional<llama::LoraAdapter<float>>& lora,
          std::optional<llama::ScalarHead<float>>* head, llama::Trainable trainable)
      : m_(m), lora_(lora), head_(head) {
    if (m_.lora || m_.head) throw std::logic_error("ppo: the shared base already carries an adapter or a head");
    std::swap(m_.lora, lora_);
    if (head_) std::swap(m_.head, *head_);
    m_.trainable = trainable;
  }
  ~Mounted() {
    std::swap(m_.lora, lora_);
    if (head_) std::swap(m_.head, *head_);
    m_.trainable = {};
  }
  Mounted(const Mounted&) = delete;
  Mounted& operator=(const Mounted&) = delete;

 private:
  llama::Model<float>& m_;
  std::optional<llama::LoraAdapter<float>>& lora_;
  std::optional<llama::ScalarHead<float>>* head_;
};

std::unique_ptr<llama::AdamW> make_optimizer(llama::Model<float>& m, llama::Gradients<float>& g,
                                             const llama::AdamWConfig& cfg) {
  std::vector<llama::ParamRef> refs;
  for (const auto& p : llama::parameters(m, g)) refs.push_back({p.name, p.value, p.grad, p.numel, p.decay});
  return std::make_unique<llama::AdamW>(cfg, std::move(refs));
}

void check_nonneg(double v, const char* field) {
  if (!std::isfinite(v) || v < 0)
    throw std::invalid_argument(std::string(field) + " must be a finite number >= 0, got " + std::to_string(v));
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Per batch row: the response token it predicts, -1 elsewhere (the device's row targets).
std::vector<int32_t> row_targets(const ResponseBatch& rb) {
  std::vector<int32_t> t(static_cast<size_t>(rb.batch.n_tokens()), -1);
  for (size_t j = 0; j < rb.rows.size(); ++j) t[static_cast<size_t>(rb.rows[j])] = rb.targets[j];
  return t;
}
// Per response token: the value of its row.
std::vector<double> gather_rows(const ResponseBatch& rb, const std::vector<double>& per_row) {
  std::vector<double> out(rb.rows.size());
  for (size_t j = 0; j < rb.rows.size(); ++j) out[j] = per_row[static_cast<size_t>(rb.rows[j])];
  return out;
}
// Per batch row: the coefficient of the token it predicts, 0 elsewhere.
std::vector<double> scatter_rows(const ResponseBatch& rb, const std::vector<double>& per_token) {
  std::vector<double> out(static_cast<size_t>(rb.batch.n_tokens()), 0.0);
  for (size_t j = 0; j < rb.rows.size(); ++j) out[static_cast<size_t>(rb.rows[j])] = per_token[j];
  return out;
}

}  // namespace

void PpoConfig::validate() const {
  sampling.validate();
  gate.validate();
  check_nonneg(beta, "beta");
  if (!(gamma >= 0 && gamma <= 1)) throw std::invalid_argument("gamma must be in [0, 1], got " + std::to_string(gamma));
  if (!(lambda >= 0 && lambda <= 1))
    throw std::invalid_argument("lambda must be in [0, 1], got " + std::to_string(lambda));
  if (!(clip > 0) || !std::isfinite(clip)) throw std::invalid_argument("clip must be > 0, got " + std::to_string(clip));
  if (!(value_clip > 0) || !std::isfinite(value_clip))
    throw std::invalid_argument("value_clip must be > 0, got " + std::to_string(value_clip));
  if (mini_batch < 0) throw std::invalid_argument("mini_batch must be >= 0, got " + std::to_string(mini_batch));
  if (epochs < 1) throw std::invalid_argument("epochs must be >= 1, got " + std::to_string(epochs));
  check_nonneg(lr, "lr");
  check_nonneg(value_lr, "value_lr");
  adamw.validate();
}

PpoTrainer::PpoTrainer(llama::Model<float>& base, PpoModels models, llama::LoraAdapter<float> policy,
                       PpoConfig config, bool cuda)
    : base_(base), models_(models), config_(std::move(config)) {
  config_.validate();
  if (base_.lora || base_.head)
    throw std::invalid_argument("ppo: the base must carry no adapter and no head (each model names its own)");
  if (!models_.helpfulness.head) throw std::invalid_argument("ppo: the helpfulness reward model has no scalar head");
  if (!models_.safety.head) throw std::invalid_argument("ppo: the safety reward model has no scalar head");
  policy.check_shapes(base_.config);
  if (models_.reference) models_.reference->check_shapes(base_.config);
  policy_ = std::move(policy);
  // The value model starts as the helpfulness reward model (TRL / OpenRLHF initialise the critic
  // from the reward model); without an adapter there, a fresh one (B = 0) shaped like the policy's.
  if (models_.helpfulness.adapter)
    value_ = *models_.helpfulness.adapter;
  else
    value_ = llama::LoraAdapter<float>::init(base_.config, policy_->config, config_.sampling.seed + 1);
  value_head_ = *models_.helpfulness.head;
  {
    Mounted on(base_, policy_, nullptr, llama::Trainable{false, true, false});
    policy_grads_ = llama::Gradients<float>::for_model(base_);
    policy_opt_ = make_optimizer(base_, *policy_grads_, config_.adamw);
  }
  {
    Mounted on(base_, value_, &value_head_, llama::Trainable{false, true, true});
    value_grads_ = llama::Gradients<float>::for_model(base_);
    value_opt_ = make_optimizer(base_, *value_grads_, config_.adamw);
  }
  if (cuda) gpu_ = llama::make_gpu_actor_critic(base_, *policy_, models_.reference, *value_, *value_head_);
}

PpoTrainer::~PpoTrainer() = default;

PpoIterationStats PpoTrainer::iterate(const std::vector<Prompt>& prompts) {
  const RolloutModels rm{&*policy_, models_.reference, &*value_, &*value_head_, models_.helpfulness, models_.safety};
  const int64_t n = static_cast<int64_t>(prompts.size()) * config_.sampling.samples_per_prompt;
  const int64_t mb = config_.mini_batch == 0 ? n : std::min(config_.mini_batch, n);
  Rollout ro = gpu_ ? gpu_rollout(prompts, mb)
                    : make_rollout(base_, rm, prompts, config_.sampling, config_.gate, mb, ws_,
                                   static_cast<uint64_t>(iteration_));
  const auto t0 = std::chrono::steady_clock::now();
  PpoIterationStats st;
  st.iteration = iteration_ + 1;
  st.generation_seconds = ro.generation_seconds;

  // ---- rewards and advantages
  const double dn = static_cast<double>(n);
  std::vector<double> logit(static_cast<size_t>(n));
  int64_t tokens = 0;
  for (int64_t i = 0; i < n; ++i) {
    const RolloutItem& it = ro.items[static_cast<size_t>(i)];
    logit[static_cast<size_t>(i)] = clamped_logit(it.scores.combined, config_.gate.logit_eps);
    st.reward_raw += it.scores.combined / dn;
    st.reward_logit += logit[static_cast<size_t>(i)] / dn;
    double kl = 0;
    for (size_t t = 0; t < it.logp.size(); ++t) kl += it.logp[t] - it.logp_ref[t];
    st.kl += kl / dn;
    st.entropy += it.entropy * static_cast<double>(it.logp.size());
    tokens += static_cast<int64_t>(it.logp.size());
  }
  st.entropy /= static_cast<double>(tokens);
  st.response_length = static_cast<double>(tokens) / dn;
  const Whitened final_reward = whiten(logit);
  std::vector<std::vector<double>> adv(static_cast<size_t>(n)), ret(static_cast<size_t>(n));
  std::vector<double> flat_adv;
  for (int64_t i = 0; i < n; ++i) {
    const RolloutItem& it = ro.items[static_cast<size_t>(i)];
    st.reward_whitened += final_reward.values[static_cast<size_t>(i)] / dn;
    const auto r = token_rewards(it.logp, it.logp_ref, final_reward.values[static_cast<size_t>(i)], config_.beta);
    GaeResult g = gae(r, it.values, config_.gamma, config_.lambda);
    flat_adv.insert(flat_adv.end(), g.advantages.begin(), g.advantages.end());
    adv[static_cast<size_t>(i)] = std::move(g.advantages);
    ret[static_cast<size_t>(i)] = std::move(g.returns);
  }
  if (config_.whiten_advantages) {
    const Whitened wa = whiten(flat_adv);
    size_t k = 0;
    for (auto& a : adv)
      for (double& x : a) x = wa.values[k++];
  }

  // ---- updates: fixed consecutive mini-batches (the rollout's chunks), `epochs` passes
  int64_t updates = 0;
  for (int64_t e = 0; e < config_.epochs; ++e) {
    for (int64_t c0 = 0; c0 < n; c0 += mb) {
      const int64_t c1 = std::min(n, c0 + mb);
      std::vector<std::vector<int32_t>> ps, rs;
      std::vector<double> old_logp, a, old_v, r;
      for (int64_t i = c0; i < c1; ++i) {
        const RolloutItem& it = ro.items[static_cast<size_t>(i)];
        ps.push_back(prompts[static_cast<size_t>(it.response.prompt)].tokens);
        rs.push_back(it.response.tokens);
        old_logp.insert(old_logp.end(), it.logp.begin(), it.logp.end());
        old_v.insert(old_v.end(), it.values.begin(), it.values.end());
        a.insert(a.end(), adv[static_cast<size_t>(i)].begin(), adv[static_cast<size_t>(i)].end());
        r.insert(r.end(), ret[static_cast<size_t>(i)].begin(), ret[static_cast<size_t>(i)].end());
      }
      const ResponseBatch rb = ResponseBatch::make(ps, rs);
      if (gpu_) {
        using Part = llama::ActorCriticTrainer::Part;
        const std::vector<int32_t> targets = row_targets(rb);
        gpu_->zero_grads(Part::kPolicy);
        const auto logp = gather_rows(rb, gpu_->policy_logprobs(rb.batch, targets, config_.sampling.temperature));
        const PolicyLossResult pl = clipped_policy_loss(logp, old_logp, a, config_.clip);
        gpu_->policy_backward(scatter_rows(rb, pl.d_logp));
        const double pnorm = gpu_->grad_norm(Part::kPolicy, 1.0);
        gpu_->adamw_step(Part::kPolicy, config_.adamw, config_.lr, ++gpu_policy_steps_,
                         config_.adamw.clip_coefficient(pnorm));
        if (updates == 0) st.first_ratio = pl.ratio_mean;
        st.policy_loss += pl.loss;
        st.clip_fraction += pl.clip_fraction;
        st.approx_kl += pl.approx_kl;

        gpu_->zero_grads(Part::kValue);
        const auto v = gpu_->values(rb.batch, rb.rows);
        const ValueLossResult vl = clipped_value_loss(v, old_v, r, config_.value_clip);
        gpu_->value_backward(vl.d_values);
        const double vnorm = gpu_->grad_norm(Part::kValue, 1.0);
        gpu_->adamw_step(Part::kValue, config_.adamw, config_.value_lr, ++gpu_value_steps_,
                         config_.adamw.clip_coefficient(vnorm));
        st.value_loss += vl.loss;
        st.value_clip_fraction += vl.clip_fraction;
        ++updates;
        continue;
      }
      {
        Mounted on(base_, policy_, nullptr, llama::Trainable{false, true, false});
        policy_grads_->zero();
        const auto pl = policy_forward_backward<float>(base_, rb, old_logp, a, config_.clip,
                                                       config_.sampling.temperature, ws_, &*policy_grads_);
        const double norm = policy_opt_->global_grad_norm();
        policy_opt_->step(config_.lr, policy_opt_->clip_coefficient(norm));
        if (updates == 0) st.first_ratio = pl.ratio_mean;
        st.policy_loss += pl.loss;
        st.clip_fraction += pl.clip_fraction;
        st.approx_kl += pl.approx_kl;
      }
      {
        Mounted on(base_, value_, &value_head_, llama::Trainable{false, true, true});
        value_grads_->zero();
        const auto vl = value_forward_backward<float>(base_, rb, old_v, r, config_.value_clip, ws_, &*value_grads_);
        const double norm = value_opt_->global_grad_norm();
        value_opt_->step(config_.value_lr, value_opt_->clip_coefficient(norm));
        st.value_loss += vl.loss;
        st.value_clip_fraction += vl.clip_fraction;
      }
      ++updates;
    }
  }
  const double du = static_cast<double>(updates);
  st.policy_loss /= du;
  st.value_loss /= du;
  st.clip_fraction /= du;
  st.value_clip_fraction /= du;
  st.approx_kl /= du;
  if (gpu_) sync_from_gpu();  // the next rollout samples from the host copy of the policy
  st.training_seconds = ro.scoring_seconds + seconds_since(t0);
  ++iteration_;
  return st;
}

Rollout PpoTrainer::gpu_rollout(const std::vector<Prompt>& prompts, int64_t chunk) {
  Rollout ro;
  auto t0 = std::chrono::steady_clock::now();
  auto responses = sample_responses(base_, &*policy_, prompts, config_.sampling, static_cast<uint64_t>(iteration_),
                                    device_);
  ro.generation_seconds = seconds_since(t0);
  t0 = std::chrono::steady_clock::now();
  const auto scores =
      score_responses(base_, prompts, responses, models_.helpfulness, models_.safety, config_.gate, device_);
  const int64_t n = static_cast<int64_t>(responses.size());
  ro.chunk = chunk == 0 ? n : chunk;
  ro.items.resize(responses.size());
  for (int64_t c0 = 0; c0 < n; c0 += ro.chunk) {
    const int64_t c1 = std::min(n, c0 + ro.chunk);
    std::vector<std::vector<int32_t>> ps, rs;
    for (int64_t i = c0; i < c1; ++i) {
      ps.push_back(prompts[static_cast<size_t>(responses[static_cast<size_t>(i)].prompt)].tokens);
      rs.push_back(responses[static_cast<size_t>(i)].tokens);
    }
    const ResponseBatch rb = ResponseBatch::make(ps, rs);
    const std::vector<int32_t> targets = row_targets(rb);
    std::vector<double> ent_rows;
    const auto logp =
        gather_rows(rb, gpu_->policy_logprobs(rb.batch, targets, config_.sampling.temperature, &ent_rows));
    const auto ent = gather_rows(rb, ent_rows);
    const auto ref = gather_rows(rb, gpu_->reference_logprobs(rb.batch, targets, config_.sampling.temperature));
    const auto val = gpu_->values(rb.batch, rb.rows);
    for (int64_t i = c0; i < c1; ++i) {
      RolloutItem& it = ro.items[static_cast<size_t>(i)];
      const size_t b = static_cast<size_t>(rb.offsets[static_cast<size_t>(i - c0)]);
      const size_t e = static_cast<size_t>(rb.offsets[static_cast<size_t>(i - c0 + 1)]);
      it.logp.assign(logp.begin() + static_cast<ptrdiff_t>(b), logp.begin() + static_cast<ptrdiff_t>(e));
      it.logp_ref.assign(ref.begin() + static_cast<ptrdiff_t>(b), ref.begin() + static_cast<ptrdiff_t>(e));
      it.values.assign(val.begin() + static_cast<ptrdiff_t>(b), val.begin() + static_cast<ptrdiff_t>(e));
      for (size_t j = b; j < e; ++j) it.entropy += ent[j] / static_cast<double>(e - b);
      it.scores = scores[static_cast<size_t>(i)];
      it.response = std::move(responses[static_cast<size_t>(i)]);
    }
  }
  ro.scoring_seconds = seconds_since(t0);
  return ro;
}

void PpoTrainer::sync_from_gpu() {
  gpu_->sync_policy(*policy_);
  gpu_->sync_value(*value_, *value_head_);
}

namespace {

// The trainable tensors of one mounted model under `prefix`, with their optimizer slots.
void export_part(llama::Model<float>& m, llama::Gradients<float>& g, const llama::AdamW& opt, const std::string& prefix,
                 llama::Checkpoint& c) {
  for (const auto& p : llama::parameters(m, g))
    c.weights.push_back({prefix + p.name, {p.numel}, std::vector<float>(p.value, p.value + p.numel)});
  for (auto slot : opt.export_state()) {
    slot.name = prefix + slot.name;
    c.optimizer.push_back(std::move(slot));
  }
}

// Checks (check_only) or copies the tensors under `prefix` into the mounted model; returns the
// optimizer slots under the prefix, names stripped.
std::vector<llama::AdamWSlot> import_part(llama::Model<float>& m, llama::Gradients<float>& g, const llama::Checkpoint& c,
                                          const std::string& prefix, const std::filesystem::path& dir,
                                          bool check_only) {
  const auto params = llama::parameters(m, g);
  size_t found = 0;
  for (const auto& w : c.weights)
    if (w.name.rfind(prefix, 0) == 0) ++found;
  if (found != params.size())
    throw llama::CheckpointError(dir.string() + ": holds " + std::to_string(found) + " " + prefix + " tensors, the trainer has " +
                                 std::to_string(params.size()));
  for (const auto& p : params) {
    const llama::NamedBuffer* b = nullptr;
    for (const auto& w : c.weights)
      if (w.name == prefix + p.name) b = &w;
    if (!b) throw llama::CheckpointError(dir.string() + ": no tensor for '" + prefix + p.name + "'");
    if (static_cast<int64_t>(b->data.size()) != p.numel)
      throw llama::CheckpointError(dir.string() + ": tensor '" + prefix + p.name + "' has the wrong size");
    if (!check_only) std::copy(b->data.begin(), b->data.end(), p.value);
  }
  std::vector<llama::AdamWSlot> slots;
  for (const auto& s : c.optimizer)
    if (s.name.rfind(prefix, 0) == 0) {
      slots.push_back(s);
      slots.back().name = s.name.substr(prefix.size());
    }
  return slots;
}

}  // namespace

void PpoTrainer::save(const std::filesystem::path& dir) {
  llama::Checkpoint c;
  c.step = iteration_;
  c.optimizer_steps = gpu_ ? gpu_policy_steps_ : policy_opt_->steps();
  c.rng = llama::Rng(config_.sampling.seed).to_string();  // rollouts are seeded from (seed, iteration)
  c.data_position = {{"iteration", iteration_}};
  c.meta = {{"loss", "ppo"},
            {"value_optimizer_steps", gpu_ ? gpu_value_steps_ : value_opt_->steps()},
            {"beta", config_.beta}};
  if (gpu_) {
    // The device's tensors carry the CPU's names and order: the same checkpoint on both devices.
    using Part = llama::ActorCriticTrainer::Part;
    for (const auto& [part, prefix] : {std::pair{Part::kPolicy, "policy/"}, std::pair{Part::kValue, "value/"}}) {
      for (auto w : gpu_->weights(part)) {
        w.name = prefix + w.name;
        c.weights.push_back(std::move(w));
      }
      for (auto m : gpu_->moments(part)) {
        m.name = prefix + m.name;
        c.optimizer.push_back(std::move(m));
      }
    }
    llama::save_checkpoint(dir, c);
    return;
  }
  {
    Mounted on(base_, policy_, nullptr, llama::Trainable{false, true, false});
    export_part(base_, *policy_grads_, *policy_opt_, "policy/", c);
  }
  {
    Mounted on(base_, value_, &value_head_, llama::Trainable{false, true, true});
    export_part(base_, *value_grads_, *value_opt_, "value/", c);
  }
  llama::save_checkpoint(dir, c);
}

void PpoTrainer::load(const std::filesystem::path& dir) {
  const llama::Checkpoint c = llama::load_checkpoint(dir);
  if (c.meta.value("loss", "") != "ppo") throw llama::CheckpointError(dir.string() + ": not a PPO checkpoint");
  if (c.step < 0) throw llama::CheckpointError(dir.string() + ": negative iteration");
  const int64_t value_steps = c.meta.value("value_optimizer_steps", int64_t{-1});
  // Check everything (sizes, optimizer slots on copies of the optimizers) before changing anything.
  std::vector<llama::AdamWSlot> ps, vs;
  {
    Mounted on(base_, policy_, nullptr, llama::Trainable{false, true, false});
    ps = import_part(base_, *policy_grads_, c, "policy/", dir, true);
  }
  {
    Mounted on(base_, value_, &value_head_, llama::Trainable{false, true, true});
    vs = import_part(base_, *value_grads_, c, "value/", dir, true);
  }
  if (value_steps < 0) throw llama::CheckpointError(dir.string() + ": no value optimizer step count");
  if (gpu_) {
    using Part = llama::ActorCriticTrainer::Part;
    auto part_weights = [&](const std::string& prefix) {
      std::vector<llama::NamedBuffer> out;
      for (const auto& w : c.weights)
        if (w.name.rfind(prefix, 0) == 0) {
          out.push_back(w);
          out.back().name = w.name.substr(prefix.size());
        }
      return out;
    };
    const auto pw = part_weights("policy/"), vw = part_weights("value/");
    const auto policy_before_w = gpu_->weights(Part::kPolicy);
    const auto policy_before_m = gpu_->moments(Part::kPolicy);
    try {
      gpu_->set_state(Part::kPolicy, pw, ps);
    } catch (const std::invalid_argument& e) {
      throw llama::CheckpointError(dir.string() + ": policy: " + e.what());
    }
    try {
      gpu_->set_state(Part::kValue, vw, vs);
    } catch (const std::invalid_argument& e) {
      gpu_->set_state(Part::kPolicy, policy_before_w, policy_before_m);
      throw llama::CheckpointError(dir.string() + ": value: " + e.what());
    }
    gpu_policy_steps_ = c.optimizer_steps;
    gpu_value_steps_ = value_steps;
    iteration_ = c.step;
    sync_from_gpu();
    return;
  }
  const auto policy_before = policy_opt_->export_state();
  const int64_t policy_steps_before = policy_opt_->steps();
  try {
    policy_opt_->import_state(c.optimizer_steps, ps);
  } catch (const std::invalid_argument& e) {
    throw llama::CheckpointError(dir.string() + ": policy optimizer: " + e.what());
  }
  try {
    value_opt_->import_state(value_steps, vs);
  } catch (const std::invalid_argument& e) {
    policy_opt_->import_state(policy_steps_before, policy_before);
    throw llama::CheckpointError(dir.string() + ": value optimizer: " + e.what());
  }
  {
    Mounted on(base_, policy_, nullptr, llama::Trainable{false, true, false});
    import_part(base_, *policy_grads_, c, "policy/", dir, false);
  }
  {
    Mounted on(base_, value_, &value_head_, llama::Trainable{false, true, true});
    import_part(base_, *value_grads_, c, "value/", dir, false);
  }
  iteration_ = c.step;
}

}  // namespace wb::rlhf
