// PPO through the engine: per-token log-probs, entropies and values of sampled responses by the
// training forward, and the clipped policy / value losses (ppo_math.h) carried back into the
// trainable set of the model (the policy LoRA; the value LoRA + scalar head).
//
// Layout: sequence s of a ResponseBatch is prompt_s + response_s packed (llama::Batch::pack).
// Response token j of sequence s sits at position P_s + j and is predicted by row P_s + j - 1 of
// that sequence; its value V(state before the token) is read on the same row. Flat per-token
// vectors list sequence 0's response tokens, then sequence 1's, and so on.
//
// Log-probs are of softmax(logits / temperature), the sampler's temperature, for the policy and
// the reference alike (the same function of the weights: no dropout anywhere).
#pragma once

#include <cstdint>
#include <vector>

#include "wb/llama/batch.h"
#include "wb/llama/model.h"
#include "wb/llama/workspace.h"
#include "wb/rlhf/ppo_math.h"

namespace wb::rlhf {

struct ResponseBatch {
  llama::Batch batch;
  std::vector<int32_t> rows;     // per response token: the batch row whose logits predict it
  std::vector<int32_t> targets;  // per response token: its id
  std::vector<int64_t> offsets;  // [S + 1]: sequence s's response tokens are [offsets[s], offsets[s+1])
  int64_t n_response_tokens() const { return static_cast<int64_t>(targets.size()); }
  // Throws std::invalid_argument for sizes that differ, an empty prompt or an empty response.
  static ResponseBatch make(const std::vector<std::vector<int32_t>>& prompts,
                            const std::vector<std::vector<int32_t>>& responses);
};

// log pi(token) per response token under base + `adapter` (nullptr: the base alone; the model's
// own Model::lora is not used). entropy, when non-null, gets the entropy of each of those rows'
// distributions. No gradient is kept.
template <typename T>
std::vector<double> response_logprobs(const llama::Model<T>& m, const ResponseBatch& rb, llama::Workspace<T>& ws,
                                      const llama::LoraAdapter<T>* adapter, double temperature,
                                      std::vector<double>* entropy = nullptr);

// V per response token: head(hidden row) = w . h + b under base + `adapter` (nullptr: base alone).
template <typename T>
std::vector<double> response_values(const llama::Model<T>& m, const ResponseBatch& rb, llama::Workspace<T>& ws,
                                    const llama::LoraAdapter<T>* adapter, const llama::ScalarHead<T>& head);

// The clipped policy loss of the model's own adapter (Model::lora: the policy) against the old
// log-probs and advantages (flat, one per response token); when grads is non-null, adds
// dloss/dparams of the trainable set into it. entropy, when non-null, gets the mean entropy.
template <typename T>
PolicyLossResult policy_forward_backward(const llama::Model<T>& m, const ResponseBatch& rb,
                                         const std::vector<double>& old_logp, const std::vector<double>& advantages,
                                         double clip, double temperature, llama::Workspace<T>& ws,
                                         llama::Gradients<T>* grads, double* entropy = nullptr);

// The clipped value loss of the model's own adapter + head (Model::lora and Model::head: the value
// model) against the old values and returns; when grads is non-null, adds dloss/dparams of the
// trainable set into it (the head's gradient when trainable.head). Throws std::invalid_argument
// when the model has no head, or for sizes that do not match.
template <typename T>
ValueLossResult value_forward_backward(const llama::Model<T>& m, const ResponseBatch& rb,
                                       const std::vector<double>& old_values, const std::vector<double>& returns,
                                       double clip, llama::Workspace<T>& ws, llama::Gradients<T>* grads);

}  // namespace wb::rlhf
