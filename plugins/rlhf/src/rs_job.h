// rs_job.h — the rejection_sampling job (`wb train rs`): rounds of best-of-K sampling with the
// combined reward (wb/rlhf/rejection_sampling.h; each prompt keeps the best answer of every round
// so far), each followed by an SFT pass of the policy LoRA on the kept answers (loss on the answer
// tokens only) with the engine's Trainer (rs_data.h).
//
// Policy: mode adapter (with an SFT adapter) a trainable copy of the SFT adapter, mode merged a
// fresh LoRA on the model; round r samples from the policy as the SFT passes of rounds 0..r-1
// left it. One Trainer (one AdamW state, constant lr) runs rounds x epochs x ceil(prompts /
// batch_size) steps in all, each round's micro-batches drawn from (seed, round).
//
// Metrics: per round (step = round, 1-based) max_reward_n<N> and median_reward_n<N> for
// N = 1..K (the paper's Figure 7 curve), kept_reward, replaced, generation_seconds,
// scoring_seconds; per SFT step train_loss, lr, grad_norm. Checkpoints: <job_dir>/checkpoint
// (the trainer: policy, AdamW moments, step, data position) every checkpoint_every steps, at each
// round's end, on shutdown and after the last step; <job_dir>/rs_state.json (the kept answers)
// after each round's sampling. Output: the policy adapter (kind policy, base_model = model).
#pragma once

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"

namespace wb::rlhf {

// WB_OK, WB_CANCELLED or WB_INTERRUPTED; failures throw.
wb_status run_rs(const plugin::JobHost& job, const nlohmann::json& spec);

}  // namespace wb::rlhf
