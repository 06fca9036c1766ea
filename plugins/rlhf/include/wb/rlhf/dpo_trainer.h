// DpoTrainer: the DPO optimizer loop behind the engine's TrainLoop interface (train_loop.h), so a
// job drives it with the kit's drive_loop (cancel, shutdown checkpoint, progress, train_loss).
//
// One optimizer step = config.micro_batches micro-batches (gradient accumulation): for each, the
// reference log-probs (forward with pr.reference_adapters, no gradient), then
// dpo_forward_backward under the policy adding into the LoRA gradients; then the global gradient
// norm, clipping and AdamW at the scheduled rate (the engine's optimizer and schedule, as Trainer
// does). On the CPU engine, or with cuda = true on the GPU (the engine's LogprobTrainer,
// logprob_trainer.h: one fp32 base copy on the device with the policy as its trainable adapter and
// the reference as its frozen adapter or the base alone; the same arithmetic, fp32 log-probs per
// row summed in double on the host).
//
// Checkpoints (checkpoint.h) hold the policy LoRA, the AdamW moments, the step and the data
// position, so a resumed run repeats the uninterrupted one bit for bit (same thread count, same
// device). The reference is not in them: it is rebuilt from its files and never changes. Both
// devices write the same format, so a run checkpointed on one resumes on the other.
//
//   DpoTrainer t(pr, batches, beta, trainer_config);   // batches: every micro-batch of the run
//   t.on_step = [&](const StepStats& s, const DpoMetrics& m) { ... };
//   while (!t.finished()) t.step();
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "wb/llama/logprob_trainer.h"
#include "wb/llama/optimizer.h"
#include "wb/llama/schedule.h"
#include "wb/llama/train_loop.h"
#include "wb/llama/workspace.h"
#include "wb/rlhf/dpo_data.h"
#include "wb/rlhf/reference.h"

namespace wb::rlhf {

// Means over the pairs of one optimizer step (or of an evaluation).
struct DpoMetrics {
  double loss = 0, margin = 0, accuracy = 0, chosen_log_ratio = 0, rejected_log_ratio = 0;
  int64_t pairs = 0;
};

// The DPO metrics of `batches` under the current policy, no gradient.
DpoMetrics dpo_evaluate(PolicyAndReference& pr, const std::vector<DpoBatch>& batches, double beta);

class DpoTrainer : public llama::TrainLoop {
 public:
  // `pr` must outlive the trainer. batches: the run's micro-batches in order (cycled when fewer
  // than total_steps * micro_batches). Throws std::invalid_argument for no batches, beta < 0 or
  // not finite, and what TrainerConfig::validate refuses.
  // cuda: train on the GPU (throws EngineError(unsupported) when this build or machine has none).
  DpoTrainer(PolicyAndReference& pr, std::vector<DpoBatch> batches, double beta, llama::TrainerConfig config,
             bool cuda = false);
  ~DpoTrainer() override;

  // After every optimizer step, with that step's DPO metrics (measured before the update).
  std::function<void(const llama::StepStats&, const DpoMetrics&)> on_step;

  llama::LoopStep step() override;
  bool finished() const override { return step_ >= config_.total_steps; }
  int64_t steps_done() const override { return step_; }
  void save(const std::filesystem::path& dir) override;
  // Throws CheckpointError (nothing changed) for a checkpoint of other parameters or position.
  void load(const std::filesystem::path& dir) override;
  // The CPU model is trained in place; the GPU's policy is copied into pr.model.lora.
  void sync_model() override;
  // The DPO metrics of `batches` under the current policy, no gradient, on the trainer's device.
  DpoMetrics evaluate(const std::vector<DpoBatch>& batches);
  bool on_gpu() const { return gpu_ != nullptr; }
  // Token cross-entropy does not apply to DPO: throws std::logic_error (use dpo_evaluate).
  double eval_loss(const std::vector<llama::TrainBatch>& batches, int64_t limit) override;

 private:
  llama::LoopStep step_cpu();

  PolicyAndReference& pr_;
  std::vector<DpoBatch> batches_;
  double beta_;
  llama::TrainerConfig config_;
  llama::LrSchedule schedule_;
  llama::Gradients<float> grads_;
  std::vector<llama::Param<float>> params_;
  std::unique_ptr<llama::AdamW> opt_;
  llama::Workspace<float> ws_;
  std::unique_ptr<llama::LogprobTrainer> gpu_;  // the GPU side (null: the CPU engine)
  int64_t gpu_optimizer_steps_ = 0;
  size_t next_ = 0;  // index of the next micro-batch
  int64_t step_ = 0;
};

}  // namespace wb::rlhf
