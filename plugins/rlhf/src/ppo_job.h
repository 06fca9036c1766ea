// ppo_job.h — the ppo job (`wb train ppo`): PPO of a policy LoRA against the SFT model as the
// reference, rewarded by the helpfulness and safety reward models through the paper's gate, on a
// prompt dataset (ppo_spec.h), with the PpoTrainer of wb/rlhf/ppo_step.h.
//
// Steps: load the model with the reference and the policy (reference.h: mode adapter keeps the
// SFT adapter frozen and trains a copy; mode merged trains a fresh LoRA on the model itself), both
// reward models (rl_inputs.h), the prompts; draw every iteration's prompts up front from the seed;
// then `iterations` PPO iterations; register the policy adapter.
//
// Metrics per iteration (step = iteration): reward_raw, reward_logit, reward_whitened, kl,
// entropy, policy_loss, value_loss, clip_fraction, value_clip_fraction, approx_kl, ratio (the
// first update's mean ratio), response_length, generation_seconds, training_seconds,
// generation_share. Checkpoints in <job_dir>/checkpoint every checkpoint_every iterations, on
// shutdown and after the last; "resume_from" continues exactly. Output: <data_dir>/adapters/<output>,
// kind policy, base_model = the model; a report in <job_dir>/result.json.
#pragma once

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"

namespace wb::rlhf {

// WB_OK, WB_CANCELLED or WB_INTERRUPTED; failures throw.
wb_status run_ppo(const plugin::JobHost& job, const nlohmann::json& spec);

}  // namespace wb::rlhf
