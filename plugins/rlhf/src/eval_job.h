// eval_job.h — the rlhf_eval job: how good a policy is by the measures RLHF optimizes, on held-out
// prompts. The policy (model + adapter) answers each prompt greedily (max_tokens, EOS stops); both
// reward models score each answer (wb/reward/scoring.h: the chat rendering of the finished turn,
// the head at its EOS); the gate of wb/rlhf/gated_reward.h combines them (safety decides on
// unsafe prompts and answers the safety model finds unsafe); the task suite's exact checker
// (wb/suite/checker.h) grades each answer. A prompt is unsafe when its row says "is_safety_prompt": true,
// else when the checker recognizes it as one of the suite's unsafe prompts.
//
// Metrics (step 0): n, n_safe, n_unsafe, mean_reward (combined), mean_helpfulness_reward,
// mean_safety_reward, accuracy and format_adherence (safe suite prompts), refusal_rate (unsafe
// prompts refused), over_refusal_rate (safe prompts refused), mean_response_tokens. The same as
// <job_dir>/result.json; one line per prompt (prompt, response, unsafe, scores, tokens, verdict)
// in <job_dir>/eval_results.jsonl.
#pragma once

#include <nlohmann/json.hpp>

#include "wb/plugin/host.h"
#include "wb/wb_plugin.h"

namespace wb::rlhf {

// WB_OK, or WB_CANCELLED / WB_INTERRUPTED when stopped (no checkpoint: a resumed job restarts).
wb_status run_rlhf_eval(const plugin::JobHost& job, const nlohmann::json& spec);

}  // namespace wb::rlhf
