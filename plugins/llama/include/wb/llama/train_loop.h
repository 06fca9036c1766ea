// train_loop.h — the engine's device-neutral trainer: the optimizer loop a job drives, on the CPU
// (llama::Trainer) or on the GPU (gpu::GpuTrainer: full, LoRA and head training, token CE or
// ranking loss; built with the CUDA backend). Both keep the CPU's checkpoint format, so a job
// checkpointed on one device resumes on the other. The plugin kit's drive_loop
// (wb/plugin/loop_driver.h) runs one for a job.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "wb/llama/trainer.h"

namespace wb::llama {

struct LoopStep {
  StepStats stats;
  // The GPU loop reads the loss back only every loss_every steps (and on the last); on other
  // steps stats.loss / grad_norm / tokens_per_s are NaN or stale and this is false.
  bool loss_read = true;
};

class TrainLoop {
 public:
  virtual ~TrainLoop() = default;
  virtual LoopStep step() = 0;
  virtual bool finished() const = 0;
  virtual int64_t steps_done() const = 0;
  // Checkpoint write / restore (checkpoint.h); load throws CheckpointError, nothing changed.
  // save also leaves the trained weights in the CPU model, as sync_model does.
  virtual void save(const std::filesystem::path& dir) = 0;
  virtual void load(const std::filesystem::path& dir) = 0;
  // Brings the trained weights into the CPU model (the GPU loop copies its fp32 masters back:
  // weights, adapter, head); call before evaluating or saving the model on the CPU.
  virtual void sync_model() = 0;
  // Mean masked token loss (loss.h token_cross_entropy per batch, weighted by the rows each
  // counts) over the first `limit` batches (0: all), with the current weights and no dropout;
  // NaN when no row counts. The GPU loop evaluates on the device (no copy back).
  virtual double eval_loss(const std::vector<TrainBatch>& batches, int64_t limit) = 0;
};

}  // namespace wb::llama
