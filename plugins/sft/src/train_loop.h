// train_loop.h — the optimizer loop a pretrain/sft (or reward) job drives, on the CPU
// (llama::Trainer) or on the GPU (wb::gpu::GpuTrainer: full, LoRA and head training, token CE or
// ranking loss; built with the CUDA backend). Both keep the CPU's checkpoint format, so a job
// checkpointed on one device resumes on the other.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "wb/llama/model.h"
#include "wb/llama/trainer.h"

namespace wb::sft {

struct LoopStep {
  llama::StepStats stats;
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
  virtual double eval_loss(const std::vector<llama::TrainBatch>& batches, int64_t limit) = 0;
};

// The CPU Trainer over `model` (which must outlive the loop).
std::unique_ptr<TrainLoop> make_cpu_loop(llama::Model<float>& model, llama::DataSource& data,
                                         llama::TrainerConfig config);
// The GPU trainer (fp32 storage, the CPU's numerics), reading the loss every loss_every steps.
// Throws std::runtime_error when the plugin was built without CUDA, std::invalid_argument for
// what only the CPU trains (LoRA dropout, recompute).
std::unique_ptr<TrainLoop> make_gpu_loop(llama::Model<float>& model, llama::DataSource& data,
                                         llama::TrainerConfig config, int64_t loss_every);

}  // namespace wb::sft
