// actor_critic_trainer.h — PPO's two trained models over ONE base on a device: the policy (a LoRA
// adapter trained from per-token log-probs with signed per-row coefficients) and the value model
// (its own LoRA adapter + scalar head, read at chosen rows), each with its own AdamW state, beside
// the frozen reference (an adapter, or the base alone). The CPU runs the same through the
// engine's forward()/backward() with the adapters mounted in turn (wb_rlhf_core's ppo_model.h);
// this is the device-side counterpart.
//
//   auto t = llama::make_gpu_actor_critic(base, policy, reference_or_null, value, value_head);
//   auto ref = t->reference_logprobs(batch, targets, T);
//   auto lp  = t->policy_logprobs(batch, targets, T, &entropy);   // activations kept
//   t->policy_backward(d_logp);                                    // + d(sum coef_i logp_i)
//   auto v   = t->values(batch, rows);                             // activations kept
//   t->value_backward(d_v);                                        // + d(sum dv_j v_j)
//   t->adamw_step(Part::kPolicy, adamw, lr, step, clip);  t->adamw_step(Part::kValue, ...);
//
// Each part's trainable tensors carry the CPU's names and order (model.h parameters() of a model
// whose trainable set is the LoRA, plus the head for the value model), so weights and moments go
// into the CPU's checkpoints unchanged.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "wb/llama/batch.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/llama/optimizer.h"

namespace wb::llama {

class ActorCriticTrainer {
 public:
  enum class Part { kPolicy, kValue };
  virtual ~ActorCriticTrainer() = default;

  // Per row i: log softmax(logits_i / temperature)[targets[i]], 0 where targets[i] < 0, under the
  // policy (activations kept for policy_backward) or the reference. entropy, when non-null, gets
  // each row's entropy of that distribution (0 where targets[i] < 0). Throws
  // std::invalid_argument for a batch the model cannot run or sizes that do not match.
  virtual std::vector<double> policy_logprobs(const Batch& batch, const std::vector<int32_t>& targets,
                                              double temperature, std::vector<double>* entropy = nullptr) = 0;
  virtual std::vector<double> reference_logprobs(const Batch& batch, const std::vector<int32_t>& targets,
                                                 double temperature) = 0;
  // After policy_logprobs and before any other forward: ADDS the gradient of sum_i coef[i] logp_i
  // into the policy's gradients. Throws std::logic_error without that forward.
  virtual void policy_backward(const std::vector<double>& coef) = 0;
  // The value model's V at the given absolute rows of the batch (head . hidden + bias),
  // activations kept for value_backward. Throws std::invalid_argument for bad rows.
  virtual std::vector<double> values(const Batch& batch, const std::vector<int32_t>& rows) = 0;
  // After values() and before any other forward: ADDS the gradient of sum_j dv[j] V_j into the
  // value adapter's and head's gradients. Throws std::logic_error without that forward.
  virtual void value_backward(const std::vector<double>& dv) = 0;

  // scale * the global L2 norm of one part's accumulated gradients.
  virtual double grad_norm(Part part, double scale) = 0;
  // One AdamW step of one part (step: that part's 1-based count), gradients entering times
  // grad_scale, weight decay where the CPU applies it. Zeroes that part's gradients.
  virtual void adamw_step(Part part, const AdamWConfig& config, double lr, int64_t step, double grad_scale) = 0;
  virtual void zero_grads(Part part) = 0;

  // One part's trainable tensors and AdamW moments (CPU names and order); set_state replaces both
  // after checking every name and size (throws std::invalid_argument, nothing changed).
  virtual std::vector<NamedBuffer> weights(Part part) = 0;
  virtual std::vector<AdamWSlot> moments(Part part) = 0;
  virtual void set_state(Part part, const std::vector<NamedBuffer>& weights,
                         const std::vector<AdamWSlot>& moments) = 0;
  // Copies the trained policy / value adapter and head to the host.
  virtual void sync_policy(LoraAdapter<float>& policy) = 0;
  virtual void sync_value(LoraAdapter<float>& value, ScalarHead<float>& head) = 0;
};

// The GPU trainer: `base` (no adapter, no head needed; its weights are copied to the device once),
// `policy` and `value` + `value_head` trained (dropout 0), `reference` frozen (nullptr: the base
// alone). Nothing needs to outlive the call. Throws std::invalid_argument for adapters or a head
// that do not fit the base, EngineError(unsupported) when this build has no CUDA backend,
// cuda::CudaError (an EngineError) for device failures.
std::unique_ptr<ActorCriticTrainer> make_gpu_actor_critic(const Model<float>& base, const LoraAdapter<float>& policy,
                                                          const LoraAdapter<float>* reference,
                                                          const LoraAdapter<float>& value,
                                                          const ScalarHead<float>& value_head);

}  // namespace wb::llama
