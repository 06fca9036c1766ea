// reward_job.h — the reward job (`wb train reward --head helpfulness|safety`): trains a LoRA
// adapter + scalar head on a base model (optionally starting from an SFT adapter's LoRA) with the
// Llama 2 ranking loss -log sigmoid(r_c - r_r - m(rating)) (+ optional reward centering), on
// preference datasets mixed by ratio (reward_spec.h).
//
// Data: each dataset's "train" split is trained on; held-out pairs are each dataset's "eval"
// split plus every row of eval_datasets. One epoch = ceil(train pairs / (batch * grad_accum))
// steps; the whole run's sequence of pairs is drawn up front from the seed (mix_draws), so a
// resumed run sees the same batches.
//
// Metrics: train_loss, lr, grad_norm (every log_every steps); at step 0, every eval_every steps
// and at the end: eval_loss, eval_accuracy, eval_accuracy_rating_<k> and eval_count_rating_<k>
// (k = 0..3, ratings present), and for head=safety eval_accuracy_safety_<label> /
// eval_count_safety_<label> (both_safe, chosen_safe, both_unsafe) and eval_accuracy_safety_prompts.
// The final report is written to <job_dir>/result.json and logged.
//
// Checkpoints (Trainer::save: LoRA, head, AdamW, step, RNG, data position) go to
// <job_dir>/checkpoint every checkpoint_every steps, on shutdown and after the last step;
// "resume_from" continues bit for bit. Output: <data_dir>/adapters/<output> = PEFT adapter files +
// score.safetensors (score.weight [1, D], score.bias [1]) + reward_config.json, registered with
// kind reward_helpfulness | reward_safety.
#pragma once

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"

namespace wb::reward {

// WB_OK, WB_CANCELLED or WB_INTERRUPTED; failures throw.
wb_status run_reward(const plugin::JobHost& job, const nlohmann::json& spec);

}  // namespace wb::reward
