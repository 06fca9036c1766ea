// dpo_job.h — the dpo job (`wb train dpo`): Direct Preference Optimization of a policy LoRA
// against the SFT model as the reference (reference.h), on a preference dataset (dpo_spec.h).
//
// Steps: resolve the reference (mode merged with an SFT adapter: the derived base "<output>-base"
// is merged in f32 and registered as a model, or reused when a resumed run finds it registered);
// encode the dataset's train split (pairs whose answer a cut at max_seq_len leaves empty are
// skipped) and its eval split; draw every micro-batch of the run up front from the seed; drive
// the DpoTrainer with the kit's loop driver; register the policy adapter.
//
// Metrics: train_loss, lr, grad_norm (the loop driver), margin, accuracy, chosen_log_ratio,
// rejected_log_ratio every log_every steps and at the last; eval_loss, eval_margin,
// eval_accuracy, eval_chosen_log_ratio, eval_rejected_log_ratio at step 0 and at the end when the
// dataset has an eval split. Checkpoints go to <job_dir>/checkpoint every checkpoint_every steps,
// on shutdown and after the last step; "resume_from" continues bit for bit. Output:
// <data_dir>/adapters/<output>, kind policy, base_model = the derived base (merged with an SFT
// adapter) or the model; a report in <job_dir>/result.json.
#pragma once

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"

namespace wb::rlhf {

// WB_OK, WB_CANCELLED or WB_INTERRUPTED; failures throw.
wb_status run_dpo(const plugin::JobHost& job, const nlohmann::json& spec);

}  // namespace wb::rlhf
