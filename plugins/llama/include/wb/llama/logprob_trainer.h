// logprob_trainer.h — a LoRA policy trained from per-token log-probabilities with signed per-row
// coefficients, beside its frozen reference on the same base weights: what DPO needs (and PPO's
// policy loss), on the GPU. The CPU runs the same through forward()/backward() with a
// per-sequence adapter list (wb_rlhf_core's dpo_model.h); this is its device-side counterpart.
//
//   auto t = llama::make_gpu_logprob_trainer(model, reference_or_null);   // model.lora: the policy
//   auto ref = t->row_logprobs(batch, targets, 1.0, LogprobTrainer::Use::kReference);
//   auto pol = t->row_logprobs(batch, targets, 1.0, LogprobTrainer::Use::kPolicy);
//   t->backward(coef);                        // + d(sum_i coef_i logp_i)/d(policy LoRA)
//   double norm = t->grad_norm(1.0 / micro);  t->adamw_step(adamw, lr, step, scale * clip);
//   t->sync_model(model);                     // model.lora = the trained policy
//
// One copy of the base lives on the device (fp32): the policy is its trainable adapter, the
// reference its frozen adapter (or the base alone). The trainable tensors, their names and order
// are the CPU's (model.h parameters() for a model whose only trainable part is the LoRA), so the
// weights and moments go into the CPU's checkpoints unchanged.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "wb/llama/batch.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/model.h"
#include "wb/llama/optimizer.h"

namespace wb::llama {

class LogprobTrainer {
 public:
  enum class Use { kPolicy, kReference };
  virtual ~LogprobTrainer() = default;

  // Per row i of `batch`: log softmax(logits_i / temperature)[targets[i]], 0 where targets[i] < 0,
  // under the policy (its activations kept for backward) or the reference. Throws
  // std::invalid_argument for a batch the model cannot run or sizes that do not match.
  virtual std::vector<double> row_logprobs(const Batch& batch, const std::vector<int32_t>& targets,
                                           double temperature, Use use) = 0;
  // After row_logprobs(..., kPolicy) and before any other call on the batch: ADDS the gradient of
  // sum_i coef[i] * logp_i into the policy's gradients (coef of either sign, one per row).
  // Throws std::logic_error when the last row_logprobs was not the policy's.
  virtual void backward(const std::vector<double>& coef) = 0;
  // scale * the global L2 norm of the accumulated gradients (AdamW::global_grad_norm).
  virtual double grad_norm(double scale) = 0;
  // One AdamW step (step: 1-based count) with gradients entering times grad_scale; weight decay
  // where the CPU applies it. Zeroes the gradients.
  virtual void adamw_step(const AdamWConfig& config, double lr, int64_t step, double grad_scale) = 0;
  virtual void zero_grads() = 0;

  // The trainable tensors (names, sizes, order of model.h parameters()) and their AdamW moments,
  // for checkpoints; set_state replaces both after checking every name and size (throws
  // std::invalid_argument, nothing changed).
  virtual std::vector<NamedBuffer> weights() = 0;
  virtual std::vector<AdamWSlot> moments() = 0;
  virtual void set_state(const std::vector<NamedBuffer>& weights, const std::vector<AdamWSlot>& moments) = 0;
  // Copies the trained policy into m.lora (same config as the model given at construction).
  virtual void sync_model(Model<float>& m) = 0;
};

// The GPU trainer over `model` (whose only trainable part must be its LoRA, dropout 0) with
// `reference` as the frozen adapter (nullptr: the base alone is the reference). `model` and
// `reference` are copied to the device; neither needs to outlive the trainer. Throws
// std::invalid_argument for a model that is not so, EngineError(unsupported) when this build has
// no CUDA backend, cuda::CudaError (an EngineError) for device failures.
std::unique_ptr<LogprobTrainer> make_gpu_logprob_trainer(const Model<float>& model,
                                                         const LoraAdapter<float>* reference);

}  // namespace wb::llama
