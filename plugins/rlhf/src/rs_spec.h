// rs_spec.h — the rejection_sampling job's spec (`wb train rs`): its fields and defaults
// (kRsFields, the one table of them), the strict parser (unknown fields are errors naming them)
// and the submission-time checks against the registry. docs/RLHF.md describes each field.
//
//   {"model": "base", "adapter": "sft-3", "helpfulness": "rm-h", "safety": "rm-s",
//    "dataset": "prompts", "k": 8, "rounds": 2, "output": "rs-a"}
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

// Every field of the rejection_sampling spec, in the order `wb train rs --help` should list them.
extern const std::vector<SpecField> kRsFields;

struct RsSpec {
  std::string model, adapter;
  ReferenceMode reference = ReferenceMode::kAdapter;  // which policy starts: SFT copy or fresh LoRA
  std::string helpfulness, safety, dataset;
  bool safety_tags = true;
  double safety_threshold = 0.15;
  int64_t k = 8;
  double temperature = 1.2;
  int64_t max_new_tokens = 32;
  int64_t rounds = 1;
  int64_t epochs = 1;         // SFT passes over the kept answers per round
  int64_t batch_size = 8;     // kept answers per SFT step
  double lr = 1e-4, weight_decay = 0, clip = 1;
  llama::LoraConfig lora;
  uint64_t seed = 0;
  std::string device, output;
  int64_t checkpoint_every = 0;  // SFT steps
  std::string resume_from;
};

RsSpec parse_rs_spec(const nlohmann::json& spec);

inline std::string default_rs_output(int64_t job_id) { return "rs-" + std::to_string(job_id); }

// parse + the registry, as validate_ppo_spec. Throws SpecError naming the field.
void validate_rs_spec(const nlohmann::json& spec);

}  // namespace wb::rlhf
