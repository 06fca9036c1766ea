// Trainer: the optimization loop shared by pretraining, SFT (LoRA or full) and reward models.
//
//   Model<float> m = ...;  m.trainable = {.lora = true};   // what to train: lora | head | full
//   InMemoryDataSource data(batches);                        // or the plugin's own DataSource
//   TrainerConfig cfg; cfg.loss = LossKind::kTokenCE; cfg.total_steps = 100; ...
//   Trainer t(m, data, cfg);
//   t.on_step = [](const StepStats& s) { ... };  t.cancelled = [] { return false; };
//   if (checkpoint_exists(dir)) t.load(dir);
//   t.run();                                                 // saves every cfg.checkpoint_every
//
// One optimizer step = cfg.micro_batches micro-batches (gradient accumulation): for each, a
// forward kept for backward, the loss and its gradient, and a backward that adds into the
// gradients; then the global gradient norm (of the mean gradient), clipping, and AdamW at the
// scheduled rate. Everything that influences the next step — trainable weights, AdamW moments,
// the step count, the RNG (dropout masks) and the data position — is in the checkpoint, so a run
// resumed from one reproduces the uninterrupted run's losses bit for bit (same thread count).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/batch.h"
#include "wb/llama/collectives.h"
#include "wb/llama/model.h"
#include "wb/llama/optimizer.h"
#include "wb/llama/rng.h"
#include "wb/llama/schedule.h"
#include "wb/llama/workspace.h"

namespace wb::llama {

enum class LossKind {
  kTokenCE,  // masked next-token cross-entropy (pretrain, SFT)
  kRanking,  // -log sigmoid(r_chosen - r_rejected - margin) on the scalar head (reward models)
};

// One micro-batch.
//  kTokenCE: `batch` packs sequences; targets[i] is the token row i predicts (< 0: none) and
//            mask[i] weights it (empty: every row with a target counts). SFT masks the prompt.
//  kRanking: `batch` holds 2P sequences, chosen_0..chosen_{P-1} then rejected_0..rejected_{P-1};
//            margins[P] (empty: 0). The head is read at batch.last_index. With
//            TrainerConfig::centering > 0 the reward-centering penalty is added to the loss.
struct TrainBatch {
  Batch batch;
  std::vector<int32_t> targets;
  std::vector<float> mask;
  std::vector<float> margins;
};

// Where training data comes from. next() never runs dry: a source wraps to a new epoch itself.
// position()/seek() let a checkpoint record and restore exactly where the stream stands.
class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual TrainBatch next() = 0;
  virtual nlohmann::json position() const = 0;
  // Throws std::invalid_argument when `pos` did not come from this kind of source or is out of range.
  virtual void seek(const nlohmann::json& pos) = 0;
};

// Cycles through a fixed list of micro-batches, in order, epoch after epoch.
// position(): {"epoch": e, "index": i}.
class InMemoryDataSource : public DataSource {
 public:
  // Throws std::invalid_argument for an empty list.
  explicit InMemoryDataSource(std::vector<TrainBatch> batches);
  TrainBatch next() override;
  nlohmann::json position() const override;
  void seek(const nlohmann::json& pos) override;
  size_t size() const { return batches_.size(); }

 private:
  std::vector<TrainBatch> batches_;
  int64_t epoch_ = 0;
  size_t index_ = 0;
};

struct TrainerConfig {
  LossKind loss = LossKind::kTokenCE;
  int64_t total_steps = 1;     // optimizer steps in the whole run (also the schedule's length)
  int64_t micro_batches = 1;   // gradient accumulation
  ScheduleConfig schedule;     // schedule.total_steps is overwritten with total_steps
  AdamWConfig adamw;
  bool recompute = false;      // per-layer activation recomputation (less memory)
  uint64_t seed = 0;           // seeds the trainer's RNG (LoRA dropout masks)
  double centering = 0;        // kRanking: + centering * mean (r_c + r_r)^2 (loss.h reward_centering)
  int64_t checkpoint_every = 0;          // 0: never during run()
  std::filesystem::path checkpoint_dir;  // used by run() when checkpoint_every > 0
  // Throws std::invalid_argument naming the bad field (adamw's included: AdamWConfig::validate).
  void validate() const;
};

struct StepStats {
  int64_t step = 0;          // 1-based number of the optimizer step just taken
  double loss = 0;           // mean over the micro-batches
  double lr = 0;
  double grad_norm = 0;      // before clipping
  int64_t tokens = 0;        // rows processed in this step
  double tokens_per_s = 0;
  double seconds = 0;
};

// ---- What the trainers share (Trainer below, gpu::GpuTrainer in wb/llama/cuda/trainer.h), so
// they train, refuse batches and checkpoint alike.

// The learning-rate schedule of the whole run: config.schedule over config.total_steps.
ScheduleConfig run_schedule(const TrainerConfig& config);
// Throws std::invalid_argument when a micro-batch's loss inputs do not fit `loss`: kTokenCE
// needs one target per token and a mask of that length (or none); kRanking needs 2P sequences
// (chosen then rejected) and one margin per pair (or none). The tokens are batch.validate()'s.
void check_loss_inputs(const TrainBatch& tb, LossKind loss);
// A checkpoint's meta: the loss, total_steps, micro_batches and the trainable set.
nlohmann::json checkpoint_meta(const TrainerConfig& config, const Trainable& trainable);
// The run loop: steps until total_steps or cancellation, saving a checkpoint every
// checkpoint_every steps and at the end when a checkpoint_dir is set; returns steps_done().
template <class AnyTrainer>
int64_t run_to_end(AnyTrainer& t) {
  const TrainerConfig& c = t.config();
  const bool ckpt = !c.checkpoint_dir.empty();
  while (!t.finished()) {
    if (t.cancelled && t.cancelled()) break;
    t.step();
    if (ckpt && c.checkpoint_every > 0 && t.steps_done() % c.checkpoint_every == 0 && !t.finished())
      t.save(c.checkpoint_dir);
  }
  if (ckpt) t.save(c.checkpoint_dir);
  return t.steps_done();
}

class Trainer {
 public:
  // The model must outlive the trainer; its trainable set decides what is optimized.
  // Throws std::invalid_argument when the model has nothing trainable, or loss kRanking without
  // a head.
  Trainer(Model<float>& model, DataSource& data, TrainerConfig config);
  ~Trainer();

  std::function<void(const StepStats&)> on_step;  // after every optimizer step
  std::function<bool()> cancelled;                 // checked before every step

  // Data parallel over `c` (collectives.h; host buffers; nullptr or a world of 1: off). Every
  // rank builds the same model and config, feeds its own shard through its DataSource and calls
  // step() in lockstep. The trainable weights are broadcast from rank 0 here, so ranks start
  // equal; each step sums the ranks' accumulated gradients and uses their mean, so N ranks with
  // M micro-batches each take the step one rank takes with the same N × M micro-batches (with
  // LoRA dropout 0: masks come from each rank's own RNG). StepStats' loss is the mean over ranks
  // and tokens the sum. Checkpoints are each rank's to write; a job writes rank 0's.
  void set_collectives(Collectives* c);

  // One optimizer step. Throws std::invalid_argument for a malformed batch (nothing updated then).
  StepStats step();
  // Steps until total_steps or cancellation (checkpointing every checkpoint_every steps and at
  // the end when a checkpoint_dir is set). Returns the number of steps completed overall.
  int64_t run();

  int64_t steps_done() const { return step_; }
  bool finished() const { return step_ >= config_.total_steps; }
  const TrainerConfig& config() const { return config_; }

  // Writes / restores a checkpoint (checkpoint.h). load() throws CheckpointError when the
  // checkpoint does not match this model's trainable parameters (names or sizes) — the model
  // is unchanged then.
  void save(const std::filesystem::path& dir) const;
  void load(const std::filesystem::path& dir);

 private:
  double micro_step(const TrainBatch& tb);
  // Sums every trainable gradient over the ranks, in buckets of kReduceBucket floats.
  void reduce_gradients();

  Model<float>& model_;
  DataSource& data_;
  TrainerConfig config_;
  LrSchedule schedule_;
  Gradients<float> grads_;
  std::unique_ptr<AdamW> opt_;
  std::vector<Param<float>> params_;
  Workspace<float> ws_;
  std::vector<float> dhead_, dchosen_, drejected_;
  Rng rng_;
  int64_t step_ = 0;
  Collectives* collectives_ = nullptr;
  std::vector<float> bucket_;
};

}  // namespace wb::llama
