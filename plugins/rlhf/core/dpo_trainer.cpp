#include "wb/rlhf/dpo_trainer.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "wb/llama/checkpoint.h"
#include "wb/llama/rng.h"

namespace wb::rlhf {
namespace {

void add_metrics(DpoMetrics& m, const DpoBatchResult& r) {
  const auto n = static_cast<int64_t>(r.pairs.size());
  const double w = static_cast<double>(n);
  m.loss += r.loss * w;
  m.margin += r.margin * w;
  m.accuracy += r.accuracy * w;
  m.chosen_log_ratio += r.chosen_log_ratio * w;
  m.rejected_log_ratio += r.rejected_log_ratio * w;
  m.pairs += n;
}

void finish_metrics(DpoMetrics& m) {
  if (m.pairs == 0) return;
  const double n = static_cast<double>(m.pairs);
  m.loss /= n;
  m.margin /= n;
  m.accuracy /= n;
  m.chosen_log_ratio /= n;
  m.rejected_log_ratio /= n;
}

DpoBatchResult run_batch(PolicyAndReference& pr, const DpoBatch& b, double beta, llama::Workspace<float>& ws,
                         llama::Gradients<float>* grads) {
  b.batch.validate(pr.model.config);
  const std::vector<double> ref =
      answer_logprobs(pr.model, b.batch, b.rows, ws, pr.reference_adapters(b.batch.n_seqs()));
  return dpo_forward_backward(pr.model, b.batch, b.rows, ref, beta, ws, grads);
}

// The same batch on the GPU: per-row log-probs of the answer rows (targets elsewhere -1) under the
// reference and the policy, summed per sequence in double; the DPO gradient enters as each answer
// row's coefficient dloss/dlog pi(sequence).
DpoBatchResult run_batch_gpu(llama::LogprobTrainer& t, const DpoBatch& b, double beta, bool backward) {
  const int64_t S = b.batch.n_seqs(), n = b.batch.n_tokens();
  if (S % 2 != 0) throw std::invalid_argument("dpo: sequences come in (chosen, rejected) pairs, got " + std::to_string(S));
  if (static_cast<int64_t>(b.rows.targets.size()) != n || static_cast<int64_t>(b.rows.mask.size()) != n)
    throw std::invalid_argument("dpo: " + std::to_string(n) + " rows in the batch but " +
                                std::to_string(b.rows.targets.size()) + " targets and " +
                                std::to_string(b.rows.mask.size()) + " mask entries");
  std::vector<int32_t> targets(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t tg = b.rows.targets[static_cast<size_t>(i)];
    targets[static_cast<size_t>(i)] = tg >= 0 && b.rows.mask[static_cast<size_t>(i)] != 0 ? tg : -1;
  }
  auto per_sequence = [&](const std::vector<double>& rows) {
    std::vector<double> out(static_cast<size_t>(S), 0.0);
    for (int64_t s = 0; s < S; ++s)
      for (int64_t i = b.batch.cu_seqlens[s]; i < b.batch.cu_seqlens[s + 1]; ++i)
        if (targets[static_cast<size_t>(i)] >= 0) out[static_cast<size_t>(s)] += rows[static_cast<size_t>(i)];
    return out;
  };
  using Use = llama::LogprobTrainer::Use;
  const std::vector<double> ref = per_sequence(t.row_logprobs(b.batch, targets, 1.0, Use::kReference));
  const std::vector<double> pol = per_sequence(t.row_logprobs(b.batch, targets, 1.0, Use::kPolicy));
  std::vector<DpoPair> pairs(static_cast<size_t>(S / 2));
  for (size_t p = 0; p < pairs.size(); ++p) pairs[p] = DpoPair{pol[2 * p], pol[2 * p + 1], ref[2 * p], ref[2 * p + 1]};
  DpoBatchResult r = dpo_batch(pairs, beta);
  if (backward) {
    std::vector<double> coef(static_cast<size_t>(n), 0.0);
    for (int64_t s = 0; s < S; ++s) {
      const DpoPairResult& pr = r.pairs[static_cast<size_t>(s / 2)];
      const double d = s % 2 == 0 ? pr.d_policy_chosen : pr.d_policy_rejected;
      for (int64_t i = b.batch.cu_seqlens[s]; i < b.batch.cu_seqlens[s + 1]; ++i)
        if (targets[static_cast<size_t>(i)] >= 0) coef[static_cast<size_t>(i)] = d;
    }
    t.backward(coef);
  }
  return r;
}

}  // namespace

DpoMetrics dpo_evaluate(PolicyAndReference& pr, const std::vector<DpoBatch>& batches, double beta) {
  llama::Workspace<float> ws;
  DpoMetrics m;
  for (const auto& b : batches) add_metrics(m, run_batch(pr, b, beta, ws, nullptr));
  finish_metrics(m);
  return m;
}

DpoTrainer::DpoTrainer(PolicyAndReference& pr, std::vector<DpoBatch> batches, double beta, llama::TrainerConfig config,
                       bool cuda)
    : pr_(pr),
      batches_(std::move(batches)),
      beta_(beta),
      config_((config.validate(), std::move(config))),
      schedule_(llama::run_schedule(config_)) {
  if (batches_.empty()) throw std::invalid_argument("dpo: no micro-batches");
  if (!std::isfinite(beta_) || beta_ < 0) throw std::invalid_argument("dpo: beta must be a finite number >= 0");
  llama::Model<float>& m = pr_.model;
  if (!m.lora || !m.trainable.lora || m.trainable.full || m.trainable.head)
    throw std::invalid_argument("dpo: the policy LoRA must be the only trainable part");
  m.validate();
  grads_ = llama::Gradients<float>::for_model(m);
  params_ = llama::parameters(m, grads_);
  std::vector<llama::ParamRef> refs;
  for (const auto& p : params_) refs.push_back({p.name, p.value, p.grad, p.numel, p.decay});
  opt_ = std::make_unique<llama::AdamW>(config_.adamw, std::move(refs));
  if (cuda) gpu_ = llama::make_gpu_logprob_trainer(m, pr_.reference ? &*pr_.reference : nullptr);
}

DpoMetrics DpoTrainer::evaluate(const std::vector<DpoBatch>& batches) {
  if (!gpu_) return dpo_evaluate(pr_, batches, beta_);
  DpoMetrics m;
  for (const auto& b : batches) add_metrics(m, run_batch_gpu(*gpu_, b, beta_, /*backward=*/false));
  finish_metrics(m);
  return m;
}

void DpoTrainer::sync_model() {
  if (gpu_) gpu_->sync_model(pr_.model);
}

llama::LoopStep DpoTrainer::step() {
  if (!gpu_) return step_cpu();
  const auto t0 = std::chrono::steady_clock::now();
  gpu_->zero_grads();
  DpoMetrics dm;
  int64_t tokens = 0;
  const size_t next_before = next_;
  try {
    for (int64_t k = 0; k < config_.micro_batches; ++k) {
      const DpoBatch& b = batches_[next_];
      add_metrics(dm, run_batch_gpu(*gpu_, b, beta_, /*backward=*/true));
      tokens += b.batch.n_tokens();
      next_ = (next_ + 1) % batches_.size();
    }
  } catch (...) {
    next_ = next_before;  // a bad batch changes nothing
    gpu_->zero_grads();
    throw;
  }
  finish_metrics(dm);
  const double scale = 1.0 / static_cast<double>(config_.micro_batches);
  llama::LoopStep ls;
  llama::StepStats& st = ls.stats;
  st.grad_norm = gpu_->grad_norm(scale);
  st.lr = schedule_.lr_at(step_);
  ++gpu_optimizer_steps_;
  gpu_->adamw_step(config_.adamw, st.lr, gpu_optimizer_steps_, scale * config_.adamw.clip_coefficient(st.grad_norm));
  ++step_;
  st.step = step_;
  st.loss = dm.loss;
  st.tokens = tokens;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.tokens_per_s = st.seconds > 0 ? static_cast<double>(tokens) / st.seconds : 0;
  if (on_step) on_step(st, dm);
  return ls;
}

DpoTrainer::~DpoTrainer() = default;

llama::LoopStep DpoTrainer::step_cpu() {
  const auto t0 = std::chrono::steady_clock::now();
  grads_.zero();
  DpoMetrics dm;
  int64_t tokens = 0;
  const size_t next_before = next_;
  try {
    for (int64_t k = 0; k < config_.micro_batches; ++k) {
      const DpoBatch& b = batches_[next_];
      const DpoBatchResult r = run_batch(pr_, b, beta_, ws_, &grads_);
      add_metrics(dm, r);
      tokens += b.batch.n_tokens();
      next_ = (next_ + 1) % batches_.size();
    }
  } catch (...) {
    next_ = next_before;  // a bad batch changes nothing
    grads_.zero();
    throw;
  }
  finish_metrics(dm);
  // dpo_forward_backward's gradients are of each micro-batch's mean loss; the step's gradient is
  // their mean, as the Trainer's accumulation does.
  const double scale = 1.0 / static_cast<double>(config_.micro_batches);
  llama::LoopStep ls;
  llama::StepStats& st = ls.stats;
  st.grad_norm = opt_->global_grad_norm(scale);
  st.lr = schedule_.lr_at(step_);
  opt_->step(st.lr, scale * opt_->clip_coefficient(st.grad_norm));
  ++step_;
  st.step = step_;
  st.loss = dm.loss;
  st.tokens = tokens;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.tokens_per_s = st.seconds > 0 ? static_cast<double>(tokens) / st.seconds : 0;
  if (on_step) on_step(st, dm);
  return ls;
}

void DpoTrainer::save(const std::filesystem::path& dir) {
  llama::Checkpoint c;
  c.step = step_;
  c.optimizer_steps = gpu_ ? gpu_optimizer_steps_ : opt_->steps();
  c.rng = llama::Rng(config_.seed).to_string();  // DPO draws nothing at run time
  c.data_position = {{"index", next_}};
  c.meta = {{"loss", "dpo"}, {"beta", beta_}, {"total_steps", config_.total_steps},
            {"micro_batches", config_.micro_batches}, {"reference", reference_mode_name(pr_.mode)}};
  if (gpu_) {
    c.weights = gpu_->weights();
    c.optimizer = gpu_->moments();
    gpu_->sync_model(pr_.model);  // as TrainLoop::save promises
  } else {
    for (const auto& p : params_) c.weights.push_back({p.name, {p.numel}, std::vector<float>(p.value, p.value + p.numel)});
    c.optimizer = opt_->export_state();
  }
  llama::save_checkpoint(dir, c);
}

void DpoTrainer::load(const std::filesystem::path& dir) {
  const llama::Checkpoint c = llama::load_checkpoint(dir);
  // Check everything before changing anything.
  if (c.meta.value("loss", "") != "dpo") throw llama::CheckpointError(dir.string() + ": not a DPO checkpoint");
  std::unordered_map<std::string, const llama::NamedBuffer*> by_name;
  for (const auto& w : c.weights) by_name[w.name] = &w;
  if (by_name.size() != params_.size())
    throw llama::CheckpointError(dir.string() + ": holds " + std::to_string(by_name.size()) +
                                 " trainable tensors, the policy has " + std::to_string(params_.size()));
  for (const auto& p : params_) {
    auto it = by_name.find(p.name);
    if (it == by_name.end()) throw llama::CheckpointError(dir.string() + ": no tensor for '" + p.name + "'");
    if (static_cast<int64_t>(it->second->data.size()) != p.numel)
      throw llama::CheckpointError(dir.string() + ": tensor '" + p.name + "' has the wrong size");
  }
  const auto& pos = c.data_position;
  if (!pos.is_object() || !pos.contains("index") || !pos["index"].is_number_unsigned() ||
      pos["index"].get<size_t>() >= batches_.size())
    throw llama::CheckpointError(dir.string() + ": data position " + pos.dump() + " does not fit this run");
  if (c.step > config_.total_steps)
    throw llama::CheckpointError(dir.string() + ": step " + std::to_string(c.step) + " is past total_steps");
  try {
    if (gpu_) {
      if (c.optimizer_steps < 0) throw std::invalid_argument("negative optimizer step count");
      gpu_->set_state(c.weights, c.optimizer);  // validates before changing
      gpu_optimizer_steps_ = c.optimizer_steps;
    } else {
      opt_->import_state(c.optimizer_steps, c.optimizer);  // validates before changing
    }
  } catch (const std::invalid_argument& e) {
    throw llama::CheckpointError(dir.string() + ": " + e.what());
  }
  if (gpu_) gpu_->sync_model(pr_.model);
  else
    for (const auto& p : params_) std::memcpy(p.value, by_name[p.name]->data.data(), sizeof(float) * p.numel);
  next_ = pos["index"].get<size_t>();
  step_ = c.step;
}

double DpoTrainer::eval_loss(const std::vector<llama::TrainBatch>&, int64_t) {
  throw std::logic_error("dpo: token cross-entropy does not apply to the DPO loop; use dpo_evaluate");
}

}  // namespace wb::rlhf
