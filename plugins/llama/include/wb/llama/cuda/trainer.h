// GpuTrainer<T>: the CPU Trainer (trainer.h) on the GPU, over GpuLlama<T> (gpu_llama.h). Every
// kind of training the CPU runs — pretraining and full SFT (trainable.full), LoRA SFT
// (trainable.lora), reward models (trainable.head, usually with lora or full) — with the token
// cross-entropy or the ranking loss:
//
//   Model<float> m = load_model<float>(dir);  m.lora = LoraAdapter<float>::init(...);
//   m.head = ScalarHead<float>::random(...);  m.trainable = {.lora = true, .head = true};
//   cfg.loss = LossKind::kRanking;  cfg.centering = 0.01;
//   cuda::Context ctx;
//   GpuTrainer<float> t(ctx, m, data, cfg, /*loss_every=*/10);
//   while (!t.finished()) { GpuStepStats st = t.step(); if (st.loss_read) log(st.loss); }
//   t.save(dir);                 // the CPU Trainer's checkpoint format (load() reads either's)
//   t.sync_to_host();            // m's trained tensors (weights / adapter / head) now hold the
//                                // fp32 masters: save_adapter, save_model, the score head ...
//
// One step is Trainer::step: cfg.micro_batches packed micro-batches whose losses and gradients
// add up, then the global gradient norm over every trainable tensor (of the mean gradient),
// clipping at cfg.adamw.max_grad_norm, and AdamW (betas, eps, decoupled weight decay where the
// CPU applies it: not on norms and biases) at the scheduled rate on fp32 master weights; the T
// copies the forward reads are refreshed by the AdamW kernel. The trainable tensors, their
// names, order and checkpoint layout are the CPU's (model.h parameters()).
//   kTokenCE  masked, weighted next-token cross-entropy (loss.h token_cross_entropy).
//   kRanking  2P sequences (chosen then rejected); the scalar head is read at each sequence's
//             last real row (batch.last_index); mean -log sigmoid(r_c - r_r - margin) plus
//             centering * mean (r_c + r_r)^2 (loss.h ranking_loss, reward_centering).
// Memory: full training keeps, per base parameter, an fp32 master, fp32 gradient and two fp32
// moments (16 bytes) plus the T copy: fine for the models one fully fine-tunes on one GPU (about
// 4B parameters in 80 GB with bf16, before activations); LoRA and head training add only their
// own tensors' state.
// The step never waits for the device except: the loss (and the gradient norm) are read back
// only on read-out steps (every loss_every steps and the last one), and clipping, when on, reads
// the norm every step. On other steps StepStats::loss and grad_norm are NaN (loss_read false).
// Not supported (std::invalid_argument at construction, the CPU Trainer runs them): LoRA dropout
// > 0 and activation recomputation; and (at step()) batches whose positions are not 0.. within
// each sequence.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "wb/cuda/buffer.h"
#include "wb/cuda/stream.h"
#include "wb/llama/cuda/gpu_llama.h"
#include "wb/llama/collectives.h"
#include "wb/llama/model.h"
#include "wb/llama/rng.h"
#include "wb/llama/schedule.h"
#include "wb/llama/trainer.h"

namespace wb::gpu {

struct GpuStepStats : llama::StepStats {
  bool loss_read = false;  // loss, grad_norm and tokens_per_s were read back on this step
};

template <typename T>
class GpuTrainer {
 public:
  // The model must outlive the trainer; its trainable set (any combination of full, lora and
  // head the CPU Trainer accepts) decides what is optimized, and its current weights, adapter
  // and head are the starting point. Throws std::invalid_argument for what the CPU Trainer
  // refuses (nothing trainable, kRanking without a head, a bad config), for what only the CPU
  // runs (LoRA dropout > 0, recompute; the message says so), or loss_every < 1.
  GpuTrainer(cuda::Context& ctx, llama::Model<float>& model, llama::DataSource& data,
             llama::TrainerConfig config, int64_t loss_every = 1);

  std::function<void(const GpuStepStats&)> on_step;  // after every optimizer step
  std::function<bool()> cancelled;                    // checked before every step by run()

  // Data parallel over `c` (collectives.h; nullptr or single_process_collectives(): off; a world
  // of one over MPI or NCCL runs the reductions, which change nothing), as the CPU Trainer's
  // set_collectives: every rank builds the same model and config and feeds its own shard; the
  // trainable fp32 masters are broadcast from rank 0 here (their T copies refreshed), and every
  // step sums the ranks' accumulated gradients and uses their mean, so N ranks with M
  // micro-batches each take the step one GPU takes with the N × M micro-batches. On read-out
  // steps StepStats' loss is the mean over ranks and tokens_per_s counts every rank's tokens;
  // tokens is this rank's (a count over ranks would make every step wait for the others).
  //   A device backend (NCCL, c->stream_ordered()) reduces each decoder layer's gradients during
  //   the last micro-batch's backward, as soon as the pass has left that layer, on the backend's
  //   own stream (llm.c's overlap): one group of all-reduces per layer (LoRA: only the adapter's
  //   matrices), the rest (embeddings, final norm, LM head, head) after the pass; the optimizer
  //   waits for them on the device, never the host.
  //   A host backend (MPI) reduces after the backward: gradients copied to the host in buckets of
  //   16 MiB, all-reduced, copied back (correct anywhere, no overlap).
  // Synchronizes. Throws CollectiveError from the backend.
  void set_collectives(llama::Collectives* c);

  // One optimizer step. Every micro-batch is checked on the host before anything is enqueued:
  // a malformed one throws std::invalid_argument with the data position and weights unchanged.
  // A micro-batch the device cannot run (cuda::CudaError, e.g. out of memory) undoes the step:
  // accumulated gradients dropped, data position and RNG restored, weights never touched.
  GpuStepStats step();
  // Steps until total_steps or cancellation, checkpointing as the CPU Trainer::run does.
  int64_t run();

  int64_t steps_done() const { return step_; }
  bool finished() const { return step_ >= config_.total_steps; }
  const llama::TrainerConfig& config() const { return config_; }
  // Whether step number `s` (1-based) reads the loss back.
  bool reads_loss(int64_t s) const { return s % loss_every_ == 0 || s >= config_.total_steps; }

  // Copies every trained fp32 master into the model (full: m.weights; lora: m.lora; head:
  // m.head), so the CPU save paths write the trained model. Synchronizes.
  void sync_to_host();
  // The device model (e.g. to generate or evaluate with the trained weights without a copy).
  GpuLlama<T>& device_model() { return gpu_; }

  // The CPU Trainer's checkpoint (checkpoint.h): every trainable tensor under its CPU name, AdamW
  // moments, step, RNG, data position and the same meta; also sync_to_host(). load() accepts a
  // checkpoint written by either trainer and throws CheckpointError (nothing changed) when it
  // does not match this model's trainable set.
  void save(const std::filesystem::path& dir);
  void load(const std::filesystem::path& dir);

 private:
  cuda::Context& ctx_;
  llama::Model<float>& model_;
  llama::DataSource& data_;
  llama::TrainerConfig config_;
  int64_t loss_every_;
  llama::LrSchedule schedule_;
  GpuLlama<T> gpu_;
  cuda::DeviceBuffer<float> loss_dev_;  // sum of this step's micro-batch losses
  llama::Rng rng_;                      // advanced as the CPU Trainer's (dropout seeds)
  int64_t step_ = 0;
  int64_t optimizer_steps_ = 0;
  int64_t tokens_since_read_ = 0;
  double seconds_since_read_ = 0;
  llama::Collectives* collectives_ = nullptr;  // world > 1 only
  std::vector<bool> reduced_;                  // per parameter: its reduction is enqueued this step
  cuda::DeviceBuffer<double> tokens_dev_;      // the step's token count, summed over ranks (NCCL)

  bool data_parallel() const { return collectives_ != nullptr; }
  // Enqueues the stream-ordered reduction of every parameter of `layer` not reduced yet.
  void reduce_layer_async(int64_t layer);
  // After the last micro-batch: every gradient summed over the ranks, before adamw_step.
  void reduce_gradients();
  // The step's loss sum (device) and token count, over the ranks (read-out steps).
  void reduce_stats(float& loss_sum, int64_t& tokens);
};

}  // namespace wb::gpu
