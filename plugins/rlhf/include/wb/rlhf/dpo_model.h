// DPO through the engine: summed answer-token log-probs of packed sequences, and the DPO loss of
// pairs of them carried back into the model's trainable set (the policy LoRA) by the engine's
// backward. Sequences are packed pairwise: sequence 2p is pair p's chosen answer, 2p + 1 its
// rejected one (prompt + answer tokens each).
#pragma once

#include <cstdint>
#include <vector>

#include "wb/llama/model.h"
#include "wb/llama/workspace.h"
#include "wb/rlhf/dpo_loss.h"

namespace wb::rlhf {

// Next-token targets per row (< 0: none) and a per-row mask that is 1 on answer rows only.
struct AnswerRows {
  std::vector<int32_t> targets;
  std::vector<double> mask;
};

// One log pi(answer) per sequence of `batch`: the sum over masked rows of log softmax(logits)[target].
// `adapters` as in llama::forward (all nullptr: the base alone — the reference policy when the
// SFT adapter has been merged into the base). No gradient is kept.
template <typename T>
std::vector<double> answer_logprobs(const llama::Model<T>& m, const llama::Batch& batch, const AnswerRows& rows,
                                    llama::Workspace<T>& ws,
                                    const std::vector<const llama::LoraAdapter<T>*>& adapters = {});

// The DPO loss of the batch under the model's own adapter (the policy) against ref_logprobs (one
// per sequence, from answer_logprobs with the policy off); when grads is non-null, adds
// dloss/dparams of the trainable set into it. Throws std::invalid_argument for an odd number of
// sequences or sizes that do not match, and as dpo_batch does.
template <typename T>
DpoBatchResult dpo_forward_backward(const llama::Model<T>& m, const llama::Batch& batch, const AnswerRows& rows,
                                    const std::vector<double>& ref_logprobs, double beta, llama::Workspace<T>& ws,
                                    llama::Gradients<T>* grads);

}  // namespace wb::rlhf
