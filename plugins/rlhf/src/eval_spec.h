// eval_spec.h — the rlhf_eval job's spec: a policy (model + optional adapter) answers held-out
// prompts greedily; the two reward models and the task suite's checker grade the answers.
// docs/RLHF.md describes each field.
//
//   {"model": "base", "adapter": "dpo-7", "prompts": "rl-eval",
//    "helpfulness_rm": "rm-helpful", "safety_rm": "rm-safety", "max_tokens": 16}
// The daemon adds "job_id" (and "resume_from"); both are accepted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dpo_spec.h"  // SpecField

namespace wb::rlhf {

// Every field of the rlhf_eval spec, in the order `--help` should list them.
extern const std::vector<SpecField> kRlhfEvalFields;

struct RlhfEvalSpec {
  std::string model;           // the policy's base model
  std::string adapter;         // the policy adapter ("" = the model alone)
  std::string prompts;         // prompt dataset: rows {"prompt", "is_safety_prompt"?}
  std::string split = "auto";  // auto (eval split if any, else all) | eval | train | all
  std::string helpfulness_rm;  // adapter of kind reward_helpfulness
  std::string safety_rm;       // adapter of kind reward_safety
  double safety_threshold = 0.15;
  int64_t max_tokens = 32;
  int64_t limit = 0;           // 0: every prompt of the split
  int64_t batch = 16;          // prompts generated (and scored) together
  int64_t max_len = 0;         // tokens a reward model reads per prompt + answer (0: its own)
  std::string device;          // "" = the daemon's setting
};

RlhfEvalSpec parse_rlhf_eval_spec(const nlohmann::json& spec);

// parse + the registry: the model exists; the adapter exists, belongs to the model and is a
// policy adapter; the prompt dataset exists and is a prompt dataset; each reward model is an
// adapter of its kind with a registered base. Throws SpecError naming the field.
void validate_rlhf_eval_spec(const nlohmann::json& spec);

}  // namespace wb::rlhf
