// One PPO iteration over one base in memory (Llama 2's RLHF stage, with TRL's conventions where
// the paper is silent):
//
//   PpoTrainer t(base, {reference, helpfulness RM, safety RM}, fresh_policy_lora, config);
//   PpoIterationStats s = t.iterate(prompts);   // rollout -> rewards/advantages -> updates
//
// iterate():
//   1. rollout (rollout.h): K answers per prompt from the policy, both reward models' scores
//      and the gate's R_c, the policy's and the reference's per-token log-probs and the value
//      model's V, recomputed by the training forward in mini-batch chunks;
//   2. rewards: R~_c = whiten(clamped LOGIT(R_c)) over the rollout, per-token rewards with the
//      KL penalty (beta), GAE (gamma, lambda), advantages whitened over every response token of
//      the rollout (TRL's whiten_advantages);
//   3. updates: `epochs` passes over the rollout's mini-batches — consecutive slices of
//      `mini_batch` responses in sampling order, never shuffled, so the first pass sees exactly
//      the rows the old log-probs came from (ratio 1 bit for bit at the first step) — each one
//      AdamW step of the policy LoRA on the clipped policy loss and one of the value LoRA + head
//      on the clipped value loss, each optimizer with its own learning rate and global-norm clip.
//
// On the GPU (cuda = true) the recomputation and the updates run on the engine's actor-critic
// trainer (actor_critic_trainer.h: one base copy on the device, the policy and the value model in
// its two trainable slots, the reference as its frozen adapter or the base alone), with the same
// mini-batches, losses (ppo_math.h, in double on the host) and AdamW settings; sampling and
// scoring run where set_device says. Checkpoints have one format on both devices.
//
// The base model is shared and never written: the policy and the value model live in the trainer
// and are moved into base.lora / base.head only while their own forward/backward runs (the
// engine's backward trains Model::lora). The reference (nullptr: the base with every adapter off,
// the default when the SFT adapter has been merged into the base) and the reward models are
// read only. The value model starts as a copy of the helpfulness reward model (adapter + head).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "wb/llama/actor_critic_trainer.h"
#include "wb/llama/model.h"
#include "wb/llama/optimizer.h"
#include "wb/llama/workspace.h"
#include "wb/rlhf/ppo_math.h"
#include "wb/rlhf/rollout.h"

namespace wb::rlhf {

struct PpoConfig {
  SamplingConfig sampling;       // K answers per prompt, temperature, max_new_tokens, seed
  RewardGateConfig gate;         // safety threshold 0.15, LOGIT clamp
  double beta = 0.01;            // KL penalty per token
  double gamma = 1.0;
  double lambda = 0.95;
  double clip = 0.2;             // policy ratio clip
  double value_clip = 0.2;       // value clip around the old values
  int64_t mini_batch = 0;        // responses per update (0: the whole rollout)
  int64_t epochs = 1;            // passes over the rollout per iteration
  double lr = 1e-5;              // policy, constant
  double value_lr = 1e-5;        // value model, constant
  bool whiten_advantages = true;
  llama::AdamWConfig adamw{0.9, 0.95, 1e-5, 0.1, 1.0};  // betas, eps, weight decay, grad clip
  // Throws std::invalid_argument naming the field.
  void validate() const;
};

struct PpoModels {
  const llama::LoraAdapter<float>* reference = nullptr;  // nullptr: the base alone
  RewardModel helpfulness, safety;                        // both need a head
};

struct PpoIterationStats {
  int64_t iteration = 0;        // 1-based
  double reward_raw = 0;        // mean R_c (the gated reward-model score)
  double reward_logit = 0;      // mean clamped LOGIT(R_c), before whitening
  double reward_whitened = 0;   // mean R~_c (0 up to rounding by construction; logged as a check)
  double kl = 0;                // mean over responses of sum_t (log pi_old - log pi_ref)
  double entropy = 0;           // mean per-token entropy of the policy on its responses
  double policy_loss = 0;       // means over the updates
  double value_loss = 0;
  double clip_fraction = 0;
  double value_clip_fraction = 0;
  double approx_kl = 0;         // between the policy before and during the updates
  double first_ratio = 0;       // mean ratio of the first update (1 exactly)
  double response_length = 0;   // mean tokens per response
  double generation_seconds = 0;
  double training_seconds = 0;  // scoring, recomputation and updates
};

class PpoTrainer {
 public:
  // base: the (derived) base, with no Model::lora and no Model::head; it must outlive the trainer
  // and is never modified once iterate() returns. policy: the adapter trained (a fresh LoRA, B = 0,
  // or a copy of the SFT adapter). Throws std::invalid_argument for a bad config, a reward model
  // without a head, or a base that carries an adapter or head.
  // cuda: train on the GPU (throws EngineError(unsupported) when this build or machine has none).
  PpoTrainer(llama::Model<float>& base, PpoModels models, llama::LoraAdapter<float> policy, PpoConfig config,
             bool cuda = false);
  ~PpoTrainer();

  // Where rollouts sample and the reward models score (rollout.h; not owned, must outlive the
  // trainer's use). Default: the CPU engine over the base in place.
  void set_device(const RolloutDevice& device) { device_ = device; }
  bool on_gpu() const { return gpu_ != nullptr; }

  // One iteration on `prompts` (every prompt K times). Throws std::invalid_argument for bad prompts;
  // nothing is updated then.
  PpoIterationStats iterate(const std::vector<Prompt>& prompts);

  // Checkpoints (llama/checkpoint.h): the policy LoRA ("policy/<name>"), the value LoRA and head
  // ("value/<name>"), both AdamW optimizers' moments under the same prefixes, and the iteration
  // (the rollouts' seeds derive from (seed, iteration), so it is the RNG state too). A trainer
  // built the same way and loaded continues exactly as the saved one would have.
  void save(const std::filesystem::path& dir);
  // Throws llama::CheckpointError (nothing changed) for a checkpoint that is not a PPO one or
  // holds other tensors or sizes.
  void load(const std::filesystem::path& dir);

  const llama::LoraAdapter<float>& policy() const { return *policy_; }
  const llama::LoraAdapter<float>& value_adapter() const { return *value_; }
  const llama::ScalarHead<float>& value_head() const { return *value_head_; }
  int64_t iterations() const { return iteration_; }
  const PpoConfig& config() const { return config_; }

 private:
  llama::Model<float>& base_;
  PpoModels models_;
  PpoConfig config_;
  std::optional<llama::LoraAdapter<float>> policy_, value_;
  std::optional<llama::ScalarHead<float>> value_head_;
  std::optional<llama::Gradients<float>> policy_grads_, value_grads_;
  std::unique_ptr<llama::AdamW> policy_opt_, value_opt_;
  llama::Workspace<float> ws_;
  int64_t iteration_ = 0;
  RolloutDevice device_;
  // The GPU side (null: the CPU engine) and its optimizers' step counts. policy_, value_ and
  // value_head_ are refreshed from it after every iteration and load.
  std::unique_ptr<llama::ActorCriticTrainer> gpu_;
  int64_t gpu_policy_steps_ = 0, gpu_value_steps_ = 0;
  Rollout gpu_rollout(const std::vector<Prompt>& prompts, int64_t chunk);
  void sync_from_gpu();
};

}  // namespace wb::rlhf
