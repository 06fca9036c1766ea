#include "wb/llama/trainer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <unordered_map>

#include "wb/llama/backward.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/forward.h"
#include "wb/llama/loss.h"

namespace wb::llama {

// ---- InMemoryDataSource ----------------------------------------------------------------------

InMemoryDataSource::InMemoryDataSource(std::vector<TrainBatch> batches) : batches_(std::move(batches)) {
  if (batches_.empty()) throw std::invalid_argument("data source: no batches");
}

TrainBatch InMemoryDataSource::next() {
  TrainBatch b = batches_[index_];
  if (++index_ == batches_.size()) {
    index_ = 0;
    ++epoch_;
  }
  return b;
}

nlohmann::json InMemoryDataSource::position() const {
  return {{"epoch", epoch_}, {"index", index_}};
}

void InMemoryDataSource::seek(const nlohmann::json& pos) {
  if (!pos.is_object() || !pos.contains("epoch") || !pos.contains("index") ||
      !pos["epoch"].is_number_integer() || !pos["index"].is_number_integer())
    throw std::invalid_argument("data position: expected {\"epoch\": int, \"index\": int}, got " + pos.dump());
  const int64_t e = pos["epoch"].get<int64_t>();
  const int64_t i = pos["index"].get<int64_t>();
  if (e < 0 || i < 0 || static_cast<size_t>(i) >= batches_.size())
    throw std::invalid_argument("data position out of range: " + pos.dump());
  epoch_ = e;
  index_ = static_cast<size_t>(i);
}

// ---- TrainerConfig -----------------------------------------------------------------------------

void TrainerConfig::validate() const {
  if (total_steps < 1) throw std::invalid_argument("trainer: total_steps must be >= 1");
  if (micro_batches < 1) throw std::invalid_argument("trainer: micro_batches must be >= 1");
  if (checkpoint_every < 0) throw std::invalid_argument("trainer: checkpoint_every must be >= 0");
  if (!(centering >= 0)) throw std::invalid_argument("trainer: centering must be >= 0");
  if (checkpoint_every > 0 && checkpoint_dir.empty())
    throw std::invalid_argument("trainer: checkpoint_every needs a checkpoint_dir");
  adamw.validate();
}

// ---- Shared by the trainers ------------------------------------------------------------------

ScheduleConfig run_schedule(const TrainerConfig& config) {
  ScheduleConfig s = config.schedule;
  s.total_steps = config.total_steps;
  return s;
}

void check_loss_inputs(const TrainBatch& tb, LossKind loss) {
  const int64_t n = tb.batch.n_tokens();
  if (loss == LossKind::kTokenCE) {
    if (static_cast<int64_t>(tb.targets.size()) != n)
      throw std::invalid_argument("train batch: targets has " + std::to_string(tb.targets.size()) +
                                  " entries for " + std::to_string(n) + " tokens");
    if (!tb.mask.empty() && static_cast<int64_t>(tb.mask.size()) != n)
      throw std::invalid_argument("train batch: mask size does not match the tokens");
    return;
  }
  const int64_t s = tb.batch.n_seqs();
  if (s % 2 != 0 || s == 0)
    throw std::invalid_argument("train batch: the ranking loss needs 2P sequences (chosen then rejected)");
  if (!tb.margins.empty() && static_cast<int64_t>(tb.margins.size()) != s / 2)
    throw std::invalid_argument("train batch: margins must have one entry per pair");
}

nlohmann::json checkpoint_meta(const TrainerConfig& config, const Trainable& trainable) {
  return {{"loss", config.loss == LossKind::kTokenCE ? "token_ce" : "ranking"},
          {"total_steps", config.total_steps},
          {"micro_batches", config.micro_batches},
          {"trainable", {{"full", trainable.full}, {"lora", trainable.lora}, {"head", trainable.head}}}};
}

// ---- Trainer -----------------------------------------------------------------------------------

Trainer::Trainer(Model<float>& model, DataSource& data, TrainerConfig config)
    : model_(model),
      data_(data),
      config_((config.validate(), std::move(config))),
      schedule_(run_schedule(config_)),
      rng_(config_.seed) {
  const Trainable& tr = model_.trainable;
  if (!tr.full && !tr.lora && !tr.head) throw std::invalid_argument("trainer: the model has nothing trainable");
  if (config_.loss == LossKind::kRanking && !model_.head)
    throw std::invalid_argument("trainer: the ranking loss needs a scalar head");
  model_.validate();
  grads_ = Gradients<float>::for_model(model_);
  params_ = parameters(model_, grads_);
  std::vector<ParamRef> refs;
  refs.reserve(params_.size());
  for (const auto& p : params_) refs.push_back({p.name, p.value, p.grad, p.numel, p.decay});
  opt_ = std::make_unique<AdamW>(config_.adamw, std::move(refs));
}

Trainer::~Trainer() = default;

double Trainer::micro_step(const TrainBatch& tb) {
  const LlamaConfig& c = model_.config;
  tb.batch.validate(c);
  check_loss_inputs(tb, config_.loss);
  ForwardOptions opts;
  opts.for_backward = true;
  opts.recompute = config_.recompute;
  opts.train = true;
  opts.dropout_seed = rng_.next_u64();
  const int64_t n = tb.batch.n_tokens();
  if (config_.loss == LossKind::kTokenCE) {
    opts.logits = true;
    forward(model_, tb.batch, ws_, opts);
    // The gradient replaces the logits in place: one [n, vocab] buffer, read twice, written once.
    float* logits = ws_.logits.data();
    const float loss = token_cross_entropy(logits, n, c.vocab_size, tb.targets, tb.mask, logits);
    backward(model_, ws_, logits, static_cast<const float*>(nullptr), grads_);
    return loss;
  }
  const int64_t s = tb.batch.n_seqs();
  const int64_t pairs = s / 2;
  opts.logits = false;
  opts.head = true;
  forward(model_, tb.batch, ws_, opts);
  dhead_.assign(static_cast<size_t>(s), 0.0f);
  float loss = ranking_loss(ws_.head_values.data(), ws_.head_values.data() + pairs,
                            tb.margins.empty() ? nullptr : tb.margins.data(), pairs,
                            dhead_.data(), dhead_.data() + pairs);
  if (config_.centering > 0)
    loss += reward_centering(ws_.head_values.data(), ws_.head_values.data() + pairs, pairs, config_.centering,
                             dhead_.data(), dhead_.data() + pairs);
  backward(model_, ws_, static_cast<const float*>(nullptr), dhead_.data(), grads_);
  return loss;
}

StepStats Trainer::step() {
  const auto t0 = std::chrono::steady_clock::now();
  // Validate all micro-batches' shapes by running them; a bad batch throws before the update,
  // so weights and optimizer state stay as they were.
  grads_.zero();
  double loss_sum = 0;
  int64_t tokens = 0;
  const nlohmann::json pos_before = data_.position();
  const Rng::State rng_before = rng_.state();
  try {
    for (int64_t k = 0; k < config_.micro_batches; ++k) {
      const TrainBatch tb = data_.next();
      loss_sum += micro_step(tb);
      tokens += tb.batch.n_tokens();
    }
  } catch (...) {
    data_.seek(pos_before);
    rng_.set_state(rng_before);
    grads_.zero();
    throw;
  }
  const int world = collectives_ ? collectives_->world() : 1;
  if (world > 1) {
    reduce_gradients();
    double totals[2] = {loss_sum, static_cast<double>(tokens)};
    collectives_->all_reduce(totals, 2, ReduceOp::kSum);
    loss_sum = totals[0];
    tokens = static_cast<int64_t>(totals[1]);
  }
  // The gradients now hold the sum over world × micro_batches micro-batches.
  const double scale = 1.0 / static_cast<double>(config_.micro_batches * world);
  StepStats st;
  st.grad_norm = opt_->global_grad_norm(scale);
  st.lr = schedule_.lr_at(step_);
  opt_->step(st.lr, scale * opt_->clip_coefficient(st.grad_norm));
  ++step_;
  st.step = step_;
  st.loss = loss_sum * scale;
  st.tokens = tokens;
  st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  st.tokens_per_s = st.seconds > 0 ? static_cast<double>(tokens) / st.seconds : 0;
  if (on_step) on_step(st);
  return st;
}

int64_t Trainer::run() { return run_to_end(*this); }

namespace {
// Floats per all-reduce: large enough that the per-call latency is paid rarely, small enough
// that the staging copy stays in cache-friendly sizes (16 MiB).
constexpr size_t kReduceBucket = size_t{4} << 20;
}  // namespace

void Trainer::set_collectives(Collectives* c) {
  if (c && c->on_device())
    throw std::invalid_argument("trainer: the CPU trainer needs a host-buffer collectives backend, not " + c->backend());
  collectives_ = c;
  if (!c || c->world() == 1) return;
  for (const auto& p : params_) c->broadcast(p.value, static_cast<size_t>(p.numel) * sizeof(float), 0);
}

void Trainer::reduce_gradients() {
  // Pack the gradients into buckets, reduce each with one call, unpack.
  size_t i = 0;
  while (i < params_.size()) {
    size_t j = i, total = 0;
    while (j < params_.size() && (j == i || total + static_cast<size_t>(params_[j].numel) <= kReduceBucket))
      total += static_cast<size_t>(params_[j++].numel);
    bucket_.resize(total);
    size_t off = 0;
    for (size_t k = i; k < j; ++k) {
      std::copy(params_[k].grad, params_[k].grad + params_[k].numel, bucket_.data() + off);
      off += static_cast<size_t>(params_[k].numel);
    }
    collectives_->all_reduce(bucket_.data(), total, ReduceOp::kSum);
    off = 0;
    for (size_t k = i; k < j; ++k) {
      std::copy(bucket_.data() + off, bucket_.data() + off + params_[k].numel, params_[k].grad);
      off += static_cast<size_t>(params_[k].numel);
    }
    i = j;
  }
}

void Trainer::save(const std::filesystem::path& dir) const {
  Checkpoint c;
  c.step = step_;
  c.optimizer_steps = opt_->steps();
  c.rng = rng_.to_string();
  c.data_position = data_.position();
  c.meta = checkpoint_meta(config_, model_.trainable);
  for (const auto& p : params_)
    c.weights.push_back({p.name, {p.numel}, std::vector<float>(p.value, p.value + p.numel)});
  c.optimizer = opt_->export_state();
  save_checkpoint(dir, c);
}

void Trainer::load(const std::filesystem::path& dir) {
  Checkpoint c = load_checkpoint(dir);
  // Check everything before changing anything.
  std::unordered_map<std::string, const NamedBuffer*> by_name;
  for (const auto& w : c.weights) by_name[w.name] = &w;
  if (by_name.size() != params_.size())
    throw CheckpointError(dir.string() + ": holds " + std::to_string(by_name.size()) +
                          " trainable tensors, the model has " + std::to_string(params_.size()));
  for (const auto& p : params_) {
    auto it = by_name.find(p.name);
    if (it == by_name.end()) throw CheckpointError(dir.string() + ": no tensor for '" + p.name + "'");
    if (static_cast<int64_t>(it->second->data.size()) != p.numel)
      throw CheckpointError(dir.string() + ": tensor '" + p.name + "' has the wrong size");
  }
  Rng rng;
  try {
    rng = Rng::from_string(c.rng);
  } catch (const std::exception& e) {
    throw CheckpointError(dir.string() + ": " + e.what());
  }
  if (c.step > config_.total_steps)
    throw CheckpointError(dir.string() + ": step " + std::to_string(c.step) + " is past total_steps");
  const nlohmann::json pos_before = data_.position();
  try {
    data_.seek(c.data_position);
    opt_->import_state(c.optimizer_steps, c.optimizer);  // validates before changing
  } catch (const std::invalid_argument& e) {
    data_.seek(pos_before);
    throw CheckpointError(dir.string() + ": " + e.what());
  }
  for (const auto& p : params_) std::memcpy(p.value, by_name[p.name]->data.data(), sizeof(float) * p.numel);
  rng_ = rng;
  step_ = c.step;
}

}  // namespace wb::llama
