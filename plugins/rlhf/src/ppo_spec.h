// ppo_spec.h — the ppo job's spec: its fields and defaults (kPpoFields, the one table of them),
// the strict parser (unknown fields are errors naming them) and the submission-time checks
// against the registry. docs/RLHF.md describes each field.
//
//   {"model": "base", "adapter": "sft-3", "helpfulness": "rm-h", "safety": "rm-s",
//    "dataset": "prompts", "iterations": 20, "output": "ppo-a"}
// The daemon adds "job_id" and "resume_from"; both are accepted.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dpo_spec.h"  // SpecField
#include "wb/llama/peft_config.h"
#include "wb/rlhf/reference.h"

namespace wb::rlhf {

// Every field of the ppo spec, in the order `wb train ppo --help` should list them.
extern const std::vector<SpecField> kPpoFields;

struct PpoSpec {
  std::string model;          // the base every adapter (SFT, reward models) was trained on
  std::string adapter;        // the SFT adapter ("" = none: the model itself is the reference)
  ReferenceMode reference = ReferenceMode::kAdapter;
  std::string helpfulness, safety;  // reward adapters (kind reward_helpfulness / reward_safety)
  std::string dataset;        // prompt dataset
  bool safety_tags = true;    // read is_safety_prompt into the gate
  double safety_threshold = 0.15;
  double beta = 0.01, gamma = 1.0, lambda = 0.95, clip = 0.2, value_clip = 0.2;
  double lr = 1e-5, value_lr = 1e-5;
  int64_t batch = 8;          // prompts (one answer each) per iteration
  int64_t mini_batch = 0;     // answers per update (0: the whole batch)
  int64_t ppo_epochs = 1;
  int64_t max_new_tokens = 32;
  double temperature = 1.0;
  int64_t iterations = 10;
  llama::LoraConfig lora;     // reference merged: the fresh policy LoRA
  uint64_t seed = 0;
  std::string device;
  std::string output;
  int64_t checkpoint_every = 0;  // iterations
  std::string resume_from;
};

PpoSpec parse_ppo_spec(const nlohmann::json& spec);

inline std::string default_ppo_output(int64_t job_id) { return "ppo-" + std::to_string(job_id); }

// parse + the registry: model, adapter (a policy adapter of the model), both reward models (a
// reward adapter of the right head with its head file, on the model), the prompt dataset (kind
// prompt, with is_safety_prompt tags when safety_tags), output free, the device. Throws SpecError
// naming the field.
void validate_ppo_spec(const nlohmann::json& spec);

}  // namespace wb::rlhf
