#include "wb/llama/cuda/trainer.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <unordered_map>

#include "wb/llama/checkpoint.h"

namespace wb::gpu {

namespace {

// The CPU Trainer's checks, and what only the CPU runs; before the GpuLlama is built (member
// initialization order).
const llama::Model<float>& supported(const llama::Model<float>& m, const llama::TrainerConfig& c,
                                     int64_t loss_every) {
  c.validate();
  if (loss_every < 1) throw std::invalid_argument("gpu trainer: loss_every must be >= 1");
  const llama::Trainable& tr = m.trainable;
  if (!tr.full && !tr.lora && !tr.head)
    throw std::invalid_argument("gpu trainer: the model has nothing trainable");
  if (c.loss == llama::LossKind::kRanking && !m.head)
    throw std::invalid_argument("gpu trainer: the ranking loss needs a scalar head");
  if (m.lora && m.lora->config.lora_dropout > 0)
    throw std::invalid_argument("gpu trainer: LoRA dropout is not implemented on the GPU (set "
                                "dropout 0 or train on the CPU)");
  if (c.recompute)
    throw std::invalid_argument("gpu trainer: activation recomputation is not implemented on the "
                                "GPU (train on the CPU)");
  m.validate();
  return m;
}

// The checks Trainer::micro_step makes (and the GPU's own: positions 0.. per sequence, targets
// in the vocabulary, mask weights >= 0), on the host before anything is enqueued.
void check_batch(const llama::TrainBatch& tb, const llama::LlamaConfig& c, llama::LossKind loss) {
  tb.batch.validate(c);
  const int64_t n = tb.batch.n_tokens();
  if (!tb.batch.positions.empty())
    for (int64_t s = 0; s < tb.batch.n_seqs(); ++s)
      for (int64_t i = 0; i < tb.batch.seq_len(s); ++i)
        if (tb.batch.positions[size_t(tb.batch.seq_begin(s) + i)] != i)
          throw std::invalid_argument("train batch: the GPU trainer needs positions 0.. within "
                                      "each sequence (sequence " + std::to_string(s) + ")");
  llama::check_loss_inputs(tb, loss);
  if (loss == llama::LossKind::kTokenCE)
    for (int64_t i = 0; i < n; ++i) {
      if (tb.targets[size_t(i)] >= c.vocab_size)
        throw std::invalid_argument("train batch: target " + std::to_string(tb.targets[size_t(i)]) +
                                    " at row " + std::to_string(i) + " is outside the vocabulary");
      if (!tb.mask.empty() && tb.mask[size_t(i)] < 0)
        throw std::invalid_argument("train batch: negative mask weight at row " + std::to_string(i));
    }
}

}  // namespace

template <typename T>
GpuTrainer<T>::GpuTrainer(cuda::Context& ctx, llama::Model<float>& model, llama::DataSource& data,
                          llama::TrainerConfig config, int64_t loss_every)
    : ctx_(ctx),
      model_(model),
      data_(data),
      config_(std::move(config)),
      loss_every_(loss_every),
      schedule_(llama::run_schedule(config_)),
      gpu_(ctx, supported(model, config_, loss_every)),
      loss_dev_(1),
      rng_(config_.seed) {
  if (model_.lora) gpu_.set_lora(*model_.lora);
  if (model_.head) gpu_.set_head(*model_.head);
  gpu_.set_trainable(model_);
}

template <typename T>
GpuStepStats GpuTrainer<T>::step() {
  const auto t0 = std::chrono::steady_clock::now();
  // Take and check every micro-batch before enqueueing anything.
  const nlohmann::json pos_before = data_.position();
  std::vector<llama::TrainBatch> micro;
  try {
    for (int64_t k = 0; k < config_.micro_batches; ++k) {
      micro.push_back(data_.next());
      check_batch(micro.back(), model_.config, config_.loss);
    }
  } catch (...) {
    data_.seek(pos_before);
    throw;
  }

  int64_t tokens = 0;
  cuda::fill_bytes(loss_dev_.data(), 0, 1, ctx_.s());
  const llama::Rng rng_before = rng_;
  try {
    for (size_t k = 0; k < micro.size(); ++k) {
      const llama::TrainBatch& tb = micro[k];
      if (k + 1 == micro.size() && data_parallel() && collectives_->stream_ordered()) {
        // The last backward of the step: each layer's gradients are final once the pass has left
        // it, so their reduction starts there and overlaps the layers below.
        reduced_.assign(gpu_.n_params(), false);
        gpu_.on_layer_backward = [this](int64_t layer) { reduce_layer_async(layer); };
      }
      rng_.next_u64();  // the CPU Trainer's dropout seed for this micro-batch (dropout is 0 here)
      gpu_.set_batch(tb.batch);
      if (config_.loss == llama::LossKind::kTokenCE) {
        gpu_.forward();
        gpu_.loss_backward_async(tb.targets, tb.mask, loss_dev_.data(), /*accumulate=*/true,
                                 /*backward=*/true);
      } else {
        gpu_.forward_hidden();
        gpu_.ranking_backward_async(tb.batch.last_index, tb.margins, config_.centering,
                                    loss_dev_.data(), /*accumulate=*/true, /*backward=*/true);
      }
      tokens += tb.batch.n_tokens();
    }
  } catch (...) {
    gpu_.on_layer_backward = nullptr;
    // A micro-batch the device could not run (e.g. out of memory in set_batch): undo the step as
    // the CPU Trainer does — no gradient kept, data and RNG where they were — so a retry (after
    // freeing memory, or on a smaller batch) continues the same run. Weights are untouched: the
    // optimizer has not run.
    gpu_.zero_grads();
    rng_ = rng_before;
    data_.seek(pos_before);
    throw;
  }

  gpu_.on_layer_backward = nullptr;
  // Data parallel: the gradients become sums over the ranks (a failure here is the run's: the
  // ranks no longer agree, so nothing is undone).
  const int world = data_parallel() ? collectives_->world() : 1;
  if (data_parallel()) reduce_gradients();

  const double scale = 1.0 / double(config_.micro_batches * world);
  const bool read = reads_loss(step_ + 1);
  const bool clip = config_.adamw.max_grad_norm > 0;
  GpuStepStats st;
  st.loss_read = read;
  st.grad_norm = std::numeric_limits<double>::quiet_NaN();
  st.loss = std::numeric_limits<double>::quiet_NaN();
  double clip_coef = 1.0;
  if (read || clip) {
    st.grad_norm = std::sqrt(gpu_.grad_sq_norm()) * scale;
    clip_coef = config_.adamw.clip_coefficient(st.grad_norm);
  }
  st.lr = schedule_.lr_at(step_);
  ++optimizer_steps_;
  // Weight decay as configured: GpuLlama leaves out norms and biases, as the CPU does.
  gpu_.adamw_step(config_.adamw.step_args(st.lr, optimizer_steps_, scale * clip_coef, /*decay=*/true));
  ++step_;
  st.step = step_;
  st.tokens = tokens;
  tokens_since_read_ += tokens;
  if (read) {
    float loss_sum = 0;
    ctx_.synchronize();
    if (data_parallel()) reduce_stats(loss_sum, tokens_since_read_);
    else cuda::download(&loss_sum, loss_dev_.data(), 1);
    st.loss = double(loss_sum) / double(config_.micro_batches);  // (the mean over ranks when parallel)
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
void GpuTrainer<T>::set_collectives(llama::Collectives* c) {
  using S = typename GpuLlama<T>::ParamState;
  // Off only without a library: a world of one over MPI or NCCL still runs the reductions (which
  // then change nothing), so one GPU exercises the data-parallel path.
  collectives_ = (c && c->backend() != "single") ? c : nullptr;
  if (!collectives_) return;
  // Every rank starts from rank 0's trainable weights (set_param_state refreshes the T copies).
  for (size_t i = 0; i < gpu_.n_params(); ++i) {
    std::vector<float> w = gpu_.param_state_host(i, S::kWeight);
    if (c->on_device()) {
      cuda::DeviceBuffer<float> d(w.size());
      cuda::upload(d.data(), w.data(), w.size());
      c->broadcast(d.data(), w.size() * sizeof(float), 0);
      cuda::download(w.data(), d.data(), w.size());
    } else {
      c->broadcast(w.data(), w.size() * sizeof(float), 0);
    }
    gpu_.set_param_state(i, S::kWeight, w);
  }
  if (c->on_device()) tokens_dev_ = cuda::DeviceBuffer<double>(1);
  reduced_.assign(gpu_.n_params(), false);
  ctx_.synchronize();
}

template <typename T>
void GpuTrainer<T>::reduce_layer_async(int64_t layer) {
  for (size_t i = 0; i < gpu_.n_params(); ++i)
    if (gpu_.param_layer(i) == layer && !reduced_[i]) {
      collectives_->all_reduce_after(gpu_.param_grad(i), size_t(gpu_.param_numel(i)), llama::ReduceOp::kSum,
                                     ctx_.s());
      reduced_[i] = true;
    }
}

template <typename T>
void GpuTrainer<T>::reduce_gradients() {
  if (collectives_->stream_ordered()) {
    // What the backward did not reduce (a pass that never reached the decoder, the parameters
    // outside the layers), in the order the backward's layers come: every rank enqueues the same
    // reductions in the same order whatever its data did.
    if (reduced_.size() != gpu_.n_params()) reduced_.assign(gpu_.n_params(), false);
    for (int64_t l = model_.config.num_hidden_layers - 1; l >= -1; --l) reduce_layer_async(l);
    collectives_->wait_reductions(ctx_.s());
    reduced_.assign(gpu_.n_params(), false);
    return;
  }
  // Host backend: through host memory, 16 MiB buckets in parameter order.
  constexpr size_t kBucketFloats = size_t(4) << 20;
  ctx_.synchronize();
  std::vector<float> bucket;
  std::vector<size_t> members;
  auto flush = [&] {
    if (bucket.empty()) return;
    collectives_->all_reduce(bucket.data(), bucket.size(), llama::ReduceOp::kSum);
    size_t offset = 0;
    for (size_t i : members) {
      const size_t n = size_t(gpu_.param_numel(i));
      cuda::upload(gpu_.param_grad(i), bucket.data() + offset, n);
      offset += n;
    }
    bucket.clear();
    members.clear();
  };
  for (size_t i = 0; i < gpu_.n_params(); ++i) {
    const size_t n = size_t(gpu_.param_numel(i));
    const size_t at = bucket.size();
    bucket.resize(at + n);
    cuda::download(bucket.data() + at, gpu_.param_grad(i), n);
    members.push_back(i);
    if (bucket.size() >= kBucketFloats) flush();
  }
  flush();
}

template <typename T>
void GpuTrainer<T>::reduce_stats(float& loss_sum, int64_t& tokens) {
  double count = double(tokens);
  if (collectives_->on_device()) {
    collectives_->all_reduce(loss_dev_.data(), 1, llama::ReduceOp::kAverage);
    cuda::download(&loss_sum, loss_dev_.data(), 1);
    cuda::upload(tokens_dev_.data(), &count, 1);
    collectives_->all_reduce(tokens_dev_.data(), 1, llama::ReduceOp::kSum);
    cuda::download(&count, tokens_dev_.data(), 1);
  } else {
    cuda::download(&loss_sum, loss_dev_.data(), 1);
    double loss = loss_sum;
    double both[2] = {loss, count};
    collectives_->all_reduce(both, 1, llama::ReduceOp::kAverage);
    collectives_->all_reduce(both + 1, 1, llama::ReduceOp::kSum);
    loss_sum = float(both[0]);
    count = both[1];
  }
  tokens = int64_t(count + 0.5);
}

template <typename T>
int64_t GpuTrainer<T>::run() {
  return llama::run_to_end(*this);
}

template <typename T>
void GpuTrainer<T>::sync_to_host() {
  gpu_.trained_to_host(model_);
}

template <typename T>
void GpuTrainer<T>::save(const std::filesystem::path& dir) {
  using S = typename GpuLlama<T>::ParamState;
  sync_to_host();
  llama::Checkpoint c;
  c.step = step_;
  c.optimizer_steps = optimizer_steps_;
  c.rng = rng_.to_string();
  c.data_position = data_.position();
  c.meta = llama::checkpoint_meta(config_, model_.trainable);  // the CPU Trainer's: either resumes the other's
  for (size_t i = 0; i < gpu_.n_params(); ++i) {
    const std::string& name = gpu_.param_name(i);
    c.weights.push_back({name, {gpu_.param_numel(i)}, gpu_.param_state_host(i, S::kWeight)});
    c.optimizer.push_back({name, gpu_.param_state_host(i, S::kAdamM), gpu_.param_state_host(i, S::kAdamV)});
  }
  llama::save_checkpoint(dir, c);
}

template <typename T>
void GpuTrainer<T>::load(const std::filesystem::path& dir) {
  using S = typename GpuLlama<T>::ParamState;
  const llama::Checkpoint c = llama::load_checkpoint(dir);
  // Check everything before changing anything.
  std::unordered_map<std::string, const llama::NamedBuffer*> weights;
  std::unordered_map<std::string, const llama::AdamWSlot*> moments;
  for (const auto& w : c.weights) weights[w.name] = &w;
  for (const auto& m : c.optimizer) moments[m.name] = &m;
  const size_t n = gpu_.n_params();
  if (weights.size() != n)
    throw llama::CheckpointError(dir.string() + ": holds " + std::to_string(weights.size()) +
                                 " trainable tensors, the model has " + std::to_string(n));
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = gpu_.param_name(i);
    const int64_t numel = gpu_.param_numel(i);
    auto w = weights.find(name);
    auto m = moments.find(name);
    if (w == weights.end()) throw llama::CheckpointError(dir.string() + ": no tensor for '" + name + "'");
    if (int64_t(w->second->data.size()) != numel)
      throw llama::CheckpointError(dir.string() + ": tensor '" + name + "' has the wrong size");
    if (m == moments.end() || int64_t(m->second->m.size()) != numel ||
        int64_t(m->second->v.size()) != numel)
      throw llama::CheckpointError(dir.string() + ": optimizer state for '" + name +
                                   "' is missing or has the wrong size");
  }
  if (moments.size() != n)
    throw llama::CheckpointError(dir.string() + ": holds optimizer state for " +
                                 std::to_string(moments.size()) + " tensors, the model has " +
                                 std::to_string(n));
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
  for (size_t i = 0; i < n; ++i) {
    const std::string& name = gpu_.param_name(i);
    gpu_.set_param_state(i, S::kWeight, weights[name]->data);
    gpu_.set_param_state(i, S::kAdamM, moments[name]->m);
    gpu_.set_param_state(i, S::kAdamV, moments[name]->v);
  }
  sync_to_host();
  rng_ = rng;
  step_ = c.step;
  optimizer_steps_ = c.optimizer_steps;
}

template class GpuTrainer<float>;
template class GpuTrainer<cuda::bf16>;

}  // namespace wb::gpu
