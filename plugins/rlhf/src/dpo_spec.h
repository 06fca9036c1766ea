// dpo_spec.h — the dpo job's spec: its fields and defaults (kDpoFields, the one table of them),
// the strict parser (unknown fields are errors naming them) and the submission-time checks
// against the registry. docs/RLHF.md describes each field.
//
//   {"model": "base", "adapter": "sft-3", "dataset": "prefs", "beta": 0.1, "output": "dpo-a"}
// The daemon adds "job_id" and "resume_from"; both are accepted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/peft_config.h"
#include "wb/rlhf/reference.h"

namespace wb::rlhf {

// One spec field: its name, JSON type, default as text ("" = required) and what it does.
struct SpecField {
  const char* name;
  const char* type;
  const char* default_value;
  const char* help;
};
// Every field of the dpo spec, in the order `wb train dpo --help` should list them.
extern const std::vector<SpecField> kDpoFields;

struct DpoSpec {
  std::string model;         // the base model the SFT adapter was trained on
  std::string adapter;       // the SFT adapter ("" = none: the model itself is the reference)
  std::string dataset;       // preference dataset: prompt, chosen, rejected
  ReferenceMode reference = ReferenceMode::kMerged;
  double beta = 0.1;
  double lr = 1e-4, min_lr = 0;
  std::string schedule = "constant";
  double warmup = 0;
  double weight_decay = 0, clip = 1;
  int64_t epochs = 1;
  std::optional<int64_t> max_steps;
  int64_t batch_size = 8;    // pairs per micro-batch
  int64_t grad_accum = 1;
  llama::LoraConfig lora;    // merged mode: the fresh policy LoRA (rank, alpha, target_modules)
  uint64_t seed = 0;
  std::string device;        // "" = the daemon's setting (auto | cpu | cuda)
  std::string output;        // the policy adapter; "" until the job id is known
  int64_t checkpoint_every = 0;
  int64_t log_every = 1;
  int64_t max_seq_len = 0;   // 0: min(256, the model's context)
  std::string resume_from;   // set by the daemon
};

DpoSpec parse_dpo_spec(const nlohmann::json& spec);

// Without "output" the policy adapter is "dpo-<job id>".
inline std::string default_dpo_output(int64_t job_id) { return "dpo-" + std::to_string(job_id); }

// The derived base of mode merged with an SFT adapter: a registered model "<output>-base" (the
// result adapter's base_model). "" when the mode needs none.
std::string derived_base_name(const DpoSpec& s);

// parse + the registry: the model exists; the adapter exists and belongs to the model; the
// dataset exists and is a preference dataset; output (and the derived base's name) are free;
// max_seq_len fits the model; the device can run the job. Throws SpecError naming the field.
void validate_dpo_spec(const nlohmann::json& spec);

}  // namespace wb::rlhf
