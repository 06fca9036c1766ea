// GpuLoraTrainer<T>: LoRA SFT on the GPU with the CPU Trainer's semantics (trainer.h), over
// GpuLlama<T> (gpu_llama.h):
//
//   Model<float> m = load_model<float>(dir);  m.lora = LoraAdapter<float>::init(...);
//   m.trainable = {.lora = true};
//   cuda::Context ctx;
//   GpuLoraTrainer<float> t(ctx, m, data, cfg, /*loss_every=*/10);
//   while (!t.finished()) { GpuStepStats st = t.step(); if (st.loss_read) log(st.loss); }
//   t.save(dir);                 // the CPU Trainer's checkpoint format (load() reads either's)
//   t.lora_host();               // m.lora now holds the trained fp32 weights (save_adapter(...))
//
// Same step as Trainer::step for loss kTokenCE: cfg.micro_batches packed micro-batches (cu_seqlens)
// whose masked, weighted token losses (loss.h token_cross_entropy) and LoRA gradients add up;
// the global gradient norm over every LoRA gradient (of the mean gradient), clipping at
// cfg.adamw.max_grad_norm, and AdamW (betas, eps, decoupled weight decay) at the scheduled rate on
// fp32 master weights. The base weights are converted to T once, at construction.
// The step never waits for the device except: the loss (and the gradient norm) are read back
// only on read-out steps (every loss_every steps and the last one), and clipping, when on, reads
// the norm every step. On other steps StepStats::loss and grad_norm are NaN (loss_read false).
// Not supported (std::invalid_argument at construction): full or head training, the ranking
// loss, LoRA dropout > 0 and activation recomputation — use the CPU Trainer for those; and
// batches whose positions are not 0.. within each sequence (at step()).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "wb/cuda/buffer.h"
#include "wb/cuda/stream.h"
#include "wb/llama/cuda/gpu_llama.h"
#include "wb/llama/model.h"
#include "wb/llama/rng.h"
#include "wb/llama/schedule.h"
#include "wb/llama/trainer.h"

namespace wb::gpu {

struct GpuStepStats : llama::StepStats {
  bool loss_read = false;  // loss, grad_norm and tokens_per_s were read back on this step
};

template <typename T>
class GpuLoraTrainer {
 public:
  // The model (with its LoRA adapter) must outlive the trainer; its adapter's current values are
  // the starting point. Throws std::invalid_argument for what the GPU trainer does not support
  // (see above), a bad config, or loss_every < 1.
  GpuLoraTrainer(cuda::Context& ctx, llama::Model<float>& model, llama::DataSource& data,
                 llama::TrainerConfig config, int64_t loss_every = 1);

  std::function<void(const GpuStepStats&)> on_step;  // after every optimizer step
  std::function<bool()> cancelled;                    // checked before every step by run()

  // One optimizer step. Every micro-batch is checked on the host before anything is enqueued:
  // a malformed one throws std::invalid_argument with the data position and weights unchanged.
  GpuStepStats step();
  // Steps until total_steps or cancellation, checkpointing as the CPU Trainer::run does.
  int64_t run();

  int64_t steps_done() const { return step_; }
  bool finished() const { return step_ >= config_.total_steps; }
  const llama::TrainerConfig& config() const { return config_; }
  // Whether step number `s` (1-based) reads the loss back.
  bool reads_loss(int64_t s) const { return s % loss_every_ == 0 || s >= config_.total_steps; }

  // Copies the fp32 LoRA masters into the model's adapter (synchronizes).
  void lora_host();
  // The CPU Trainer's checkpoint (checkpoint.h): LoRA weights under the adapter's names, AdamW
  // moments, step, RNG and data position; also updates the model's adapter. load() accepts a
  // checkpoint written by either trainer and throws CheckpointError (nothing changed) when it
  // does not match this model's adapter.
  void save(const std::filesystem::path& dir);
  void load(const std::filesystem::path& dir);

 private:
  // One trainable matrix, in the adapter's for_each order (the CPU Trainer's parameter order).
  struct Slot {
    std::string name;
    int64_t layer;
    int module;
    bool b;
    int64_t numel;
  };

  cuda::Context& ctx_;
  llama::Model<float>& model_;
  llama::DataSource& data_;
  llama::TrainerConfig config_;
  int64_t loss_every_;
  llama::LrSchedule schedule_;
  GpuLlama<T> gpu_;
  std::vector<Slot> slots_;
  cuda::DeviceBuffer<float> loss_dev_;  // sum of this step's micro-batch losses
  llama::Rng rng_;                      // advanced as the CPU Trainer's (dropout seeds)
  int64_t step_ = 0;
  int64_t optimizer_steps_ = 0;
  int64_t tokens_since_read_ = 0;
  double seconds_since_read_ = 0;
};

}  // namespace wb::gpu
