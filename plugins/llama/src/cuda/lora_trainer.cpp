#include "wb/llama/cuda/lora_trainer.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "wb/llama/checkpoint.h"

namespace wb::gpu {

namespace {

llama::ScheduleConfig with_total(llama::ScheduleConfig s, int64_t total) {
  s.total_steps = total;
  return s;
}

// Checked before the GpuLlama is built (member initialization order).
const llama::Model<float>& supported(const llama::Model<float>& m, const llama::TrainerConfig& c,
                                     int64_t loss_every) {
  c.validate();
  if (loss_every < 1) throw std::invalid_argument("gpu trainer: loss_every must be >= 1");
  if (!m.trainable.lora || m.trainable.full || m.trainable.head || !m.lora)
    throw std::invalid_argument(
        "gpu trainer: only LoRA training (trainable = {lora}) runs on the GPU; full SFT, "
        "pretraining and reward heads train on the CPU");
  if (c.loss != llama::LossKind::kTokenCE)
    throw std::invalid_argument("gpu trainer: only the token cross-entropy loss runs on the GPU");
  if (m.lora->config.lora_dropout > 0)
    throw std::invalid_argument("gpu trainer: LoRA dropout is not implemented on the GPU (set "
                                "dropout 0 or train on the CPU)");
  if (c.recompute)
    throw std::invalid_argument("gpu trainer: activation recomputation is not implemented on the GPU");
  m.validate();
  return m;
}

}  // namespace

template <typename T>
GpuLoraTrainer<T>::GpuLoraTrainer(cuda::Context& ctx, llama::Model<float>& model,
                                  llama::DataSource& data, llama::TrainerConfig config,
                                  int64_t loss_every)
    : ctx_(ctx),
      model_(model),
      data_(data),
      config_(std::move(config)),
      loss_every_(loss_every),
      schedule_(with_total(config_.schedule, config_.total_steps)),
      gpu_(ctx, supported(model, config_, loss_every)),
      loss_dev_(1),
      rng_(config_.seed) {
  gpu_.set_lora(*model_.lora);
  // The parameter order and names of the CPU Trainer (parameters() walks for_each).
  std::unordered_map<std::string, Slot> by_key;
  for (int64_t l = 0; l < model_.config.num_hidden_layers; ++l)
    for (int m = 0; m < 7; ++m)
      for (bool b : {false, true})
        by_key[llama::LoraAdapter<float>::key(l, llama::LoraModule(m), b)] = {"", l, m, b, 0};
  model_.lora->for_each([&](const std::string& name, const llama::Tensor<float>& t) {
    auto it = by_key.find(name);
    if (it == by_key.end()) throw std::logic_error("gpu trainer: unexpected LoRA tensor " + name);
    Slot s = it->second;
    s.name = name;
    s.numel = t.numel();
    slots_.push_back(s);
  });
}

template <typename T>
GpuStepStats GpuLoraTrainer<T>::step() {
  const auto t0 = std::chrono::steady_clock::now();
  // Take and check every micro-batch before enqueueing anything.
  const nlohmann::json pos_before = data_.position();
  std::vector<llama::TrainBatch> micro;
  try {
    for (int64_t k = 0; k < config_.micro_batches; ++k) {
      micro.push_back(data_.next());
      const llama::TrainBatch& tb = micro.back();
      tb.batch.validate(model_.config);
      const int64_t n = tb.batch.n_tokens();
      if (int64_t(tb.targets.size()) != n)
        throw std::invalid_argument("train batch: targets has " + std::to_string(tb.targets.size()) +
                                    " entries for " + std::to_string(n) + " tokens");
      if (!tb.mask.empty() && int64_t(tb.mask.size()) != n)
        throw std::invalid_argument("train batch: mask size does not match the tokens");
      // GpuLlama derives positions from the sequence lengths (0.. within each sequence).
      if (!tb.batch.positions.empty())
        for (int64_t s = 0; s < tb.batch.n_seqs(); ++s)
          for (int64_t i = 0; i < tb.batch.seq_len(s); ++i)
            if (tb.batch.positions[size_t(tb.batch.seq_begin(s) + i)] != i)
              throw std::invalid_argument("train batch: the GPU trainer needs positions 0.. within "
                                          "each sequence (sequence " + std::to_string(s) + ")");
      for (int64_t i = 0; i < n; ++i) {
        if (tb.targets[size_t(i)] >= model_.config.vocab_size)
          throw std::invalid_argument("train batch: target " + std::to_string(tb.targets[size_t(i)]) +
                                      " at row " + std::to_string(i) + " is outside the vocabulary");
        if (!tb.mask.empty() && tb.mask[size_t(i)] < 0)
          throw std::invalid_argument("train batch: negative mask weight at row " + std::to_string(i));
      }
    }
  } catch (...) {
    data_.seek(pos_before);
    throw;
  }

  int64_t tokens = 0;
  cuda::fill_bytes(loss_dev_.data(), 0, 1, ctx_.s());
  for (const auto& tb : micro) {
    rng_.next_u64();  // the CPU Trainer's dropout seed for this micro-batch (dropout is 0 here)
    std::vector<int32_t> lens(size_t(tb.batch.n_seqs()));
    for (int64_t s = 0; s < tb.batch.n_seqs(); ++s) lens[size_t(s)] = int32_t(tb.batch.seq_len(s));
    gpu_.set_batch(tb.batch.tokens, lens);
    gpu_.forward();
    gpu_.loss_backward_async(tb.targets, tb.mask, loss_dev_.data(), /*accumulate=*/true,
                             /*backward=*/true);
    tokens += tb.batch.n_tokens();
  }

  const double scale = 1.0 / double(config_.micro_batches);
  const bool read = reads_loss(step_ + 1);
  const bool clip = config_.adamw.max_grad_norm > 0;
  GpuStepStats st;
  st.loss_read = read;
  st.grad_norm = std::numeric_limits<double>::quiet_NaN();
  st.loss = std::numeric_limits<double>::quiet_NaN();
  double clip_coef = 1.0;
  if (read || clip) {
    st.grad_norm = std::sqrt(gpu_.lora_grad_sq_norm()) * scale;
    if (clip && st.grad_norm > config_.adamw.max_grad_norm)
      clip_coef = config_.adamw.max_grad_norm / st.grad_norm;
  }
  st.lr = schedule_.lr_at(step_);
  ++optimizer_steps_;
  kernels::AdamWStep a;
  a.lr = float(st.lr);
  a.beta1 = float(config_.adamw.beta1);
  a.beta2 = float(config_.adamw.beta2);
  a.eps = float(config_.adamw.eps);
  a.weight_decay = float(config_.adamw.weight_decay);  // LoRA matrices all decay (model.cpp)
  a.step = optimizer_steps_;
  a.grad_scale = float(scale * clip_coef);
  gpu_.adamw_step(a);
  ++step_;
  st.step = step_;
  st.tokens = tokens;
  tokens_since_read_ += tokens;
  if (read) {
    float loss_sum = 0;
    ctx_.synchronize();
    cuda::download(&loss_sum, loss_dev_.data(), 1);
    st.loss = double(loss_sum) * scale;
  }
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  seconds_since_read_ += st.seconds;
  if (read) {
    // Host time between read-outs is device time too: the read-out waited for every step.
    st.tokens_per_s = seconds_since_read_ > 0 ? double(tokens_since_read_) / seconds_since_read_ : 0;
    tokens_since_read_ = 0;
    seconds_since_read_ = 0;
  }
  if (on_step) on_step(st);
  return st;
}

template <typename T>
int64_t GpuLoraTrainer<T>::run() {
  const bool ckpt = !config_.checkpoint_dir.empty();
  while (!finished()) {
    if (cancelled && cancelled()) break;
    step();
    if (ckpt && config_.checkpoint_every > 0 && step_ % config_.checkpoint_every == 0 && !finished())
      save(config_.checkpoint_dir);
  }
  if (ckpt) save(config_.checkpoint_dir);
  return step_;
}

template <typename T>
void GpuLoraTrainer<T>::lora_host() {
  gpu_.lora_host(*model_.lora);
}

template <typename T>
void GpuLoraTrainer<T>::save(const std::filesystem::path& dir) {
  using S = typename GpuLlama<T>::LoraState;
  lora_host();
  llama::Checkpoint c;
  c.step = step_;
  c.optimizer_steps = optimizer_steps_;
  c.rng = rng_.to_string();
  c.data_position = data_.position();
  // The CPU Trainer's meta, so either trainer resumes the other's checkpoint.
  c.meta = {{"loss", "token_ce"},
            {"total_steps", config_.total_steps},
            {"micro_batches", config_.micro_batches},
            {"trainable", {{"full", false}, {"lora", true}, {"head", false}}}};
  for (const Slot& s : slots_) {
    c.weights.push_back({s.name, {s.numel}, gpu_.lora_state_host(s.layer, s.module, s.b, S::kWeight)});
    c.optimizer.push_back({s.name, gpu_.lora_state_host(s.layer, s.module, s.b, S::kAdamM),
                           gpu_.lora_state_host(s.layer, s.module, s.b, S::kAdamV)});
  }
  llama::save_checkpoint(dir, c);
}

template <typename T>
void GpuLoraTrainer<T>::load(const std::filesystem::path& dir) {
  using S = typename GpuLlama<T>::LoraState;
  const llama::Checkpoint c = llama::load_checkpoint(dir);
  // Check everything before changing anything.
  std::unordered_map<std::string, const llama::NamedBuffer*> weights;
  std::unordered_map<std::string, const llama::AdamWSlot*> moments;
  for (const auto& w : c.weights) weights[w.name] = &w;
  for (const auto& m : c.optimizer) moments[m.name] = &m;
  if (weights.size() != slots_.size())
    throw llama::CheckpointError(dir.string() + ": holds " + std::to_string(weights.size()) +
                                 " trainable tensors, the model has " + std::to_string(slots_.size()));
  for (const Slot& s : slots_) {
    auto w = weights.find(s.name);
    auto m = moments.find(s.name);
    if (w == weights.end()) throw llama::CheckpointError(dir.string() + ": no tensor for '" + s.name + "'");
    if (int64_t(w->second->data.size()) != s.numel)
      throw llama::CheckpointError(dir.string() + ": tensor '" + s.name + "' has the wrong size");
    if (m == moments.end() || int64_t(m->second->m.size()) != s.numel ||
        int64_t(m->second->v.size()) != s.numel)
      throw llama::CheckpointError(dir.string() + ": optimizer state for '" + s.name +
                                   "' is missing or has the wrong size");
  }
  llama::Rng rng;
  try {
    rng = llama::Rng::from_string(c.rng);
  } catch (const std::exception& e) {
    throw llama::CheckpointError(dir.string() + ": " + e.what());
  }
  if (c.step > config_.total_steps)
    throw llama::CheckpointError(dir.string() + ": step " + std::to_string(c.step) + " is past total_steps");
  if (c.optimizer_steps < 0) throw llama::CheckpointError(dir.string() + ": negative optimizer step count");
  try {
    data_.seek(c.data_position);
  } catch (const std::invalid_argument& e) {
    throw llama::CheckpointError(dir.string() + ": " + e.what());
  }
  for (const Slot& s : slots_) {
    gpu_.set_lora_state(s.layer, s.module, s.b, S::kWeight, weights[s.name]->data);
    gpu_.set_lora_state(s.layer, s.module, s.b, S::kAdamM, moments[s.name]->m);
    gpu_.set_lora_state(s.layer, s.module, s.b, S::kAdamV, moments[s.name]->v);
  }
  gpu_.lora_host(*model_.lora);
  rng_ = rng;
  step_ = c.step;
  optimizer_steps_ = c.optimizer_steps;
}

template class GpuLoraTrainer<float>;
template class GpuLoraTrainer<cuda::bf16>;

}  // namespace wb::gpu
