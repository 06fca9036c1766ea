// train_loop.h — the optimizer loop a training job drives, on the device a DeviceChoice names
// (device.h): the CPU Trainer (trainer.h) or the GPU trainer (full, LoRA and head training, token
// CE or ranking loss; builds with the CUDA backend). Both keep the CPU's checkpoint format, so a
// job checkpointed on one device resumes on the other.
//
//   auto loop = llama::make_train_loop(device, model, data, config, /*loss_every=*/10);
//   while (!loop->finished()) { LoopStep s = loop->step(); if (s.loss_read) log(s.stats.loss); }
//   loop->sync_model();   // the trained weights are in `model` again
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "wb/llama/device.h"
#include "wb/llama/model.h"
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
  // Data parallel over `c` (nullptr: off): Trainer::set_collectives on the CPU,
  // GpuTrainer::set_collectives on the GPU (host reduction over MPI, stream-ordered over NCCL).
  virtual void set_collectives(Collectives* c);
};

// The loop on device.cuda's side: the CPU Trainer over `model`, or the GPU trainer (fp32 storage,
// the CPU's numerics) reading the loss every loss_every steps (the CPU loop reads it every step).
// `model` and `data` must outlive the loop. On the GPU, throws std::invalid_argument for what only
// the CPU trains (LoRA dropout, recompute), cuda::CudaError (an EngineError) for device failures,
// and EngineError(unsupported) when this build has no CUDA backend.
std::unique_ptr<TrainLoop> make_train_loop(const DeviceChoice& device, Model<float>& model, DataSource& data,
                                           TrainerConfig config, int64_t loss_every);

}  // namespace wb::llama
