// gatt_data_spec.h — the gatt_data job's spec: fields (kGattDataFields, the one table of them,
// which `wb job kinds gatt_data` and GET /v1/job-kinds print), defaults, the strict parser and the
// submission-time checks against the registry. docs/GATT.md describes each field.
//
//   {"model": "base", "adapter": "sft", "dataset": "dialogues", "output": "gatt-data"}
// The daemon adds "job_id" and "resume_from"; both are accepted.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "dpo_spec.h"  // SpecField

namespace wb::rlhf {

// Every field of the gatt_data spec, in the order help lists them.
extern const std::vector<SpecField> kGattDataFields;

struct GattDataSpec {
  std::string model;       // samples the replies
  std::string adapter;     // "" = the model alone
  std::string dataset;     // sft dataset of dialogues: system instruction, then user turns
  std::string split = "train";  // train | eval | all
  std::string output;      // the sft dataset written; "gatt-<job id>" when absent
  int64_t max_tokens = 64; // per sampled reply
  int64_t limit = 0;       // dialogues read (0: all)
  int64_t batch = 8;       // dialogues sampled together
  bool ghost = true;       // false: the baseline without GAtt (plain_sampling_context, no masks)
  // With ghost and a suite persona as the instruction: candidates per turn (the greedy reply, then
  // up to k-1 draws at `temperature` when it does not obey); the best by the checker is kept, a
  // turn with none obeying ends the dialogue. 0: no check, every reply kept as sampled.
  int64_t k = 4;
  double temperature = 1.0;
  uint64_t seed = 0;       // the draws' seeds derive from it, the dialogue, the turn and the draw
  std::string device;      // "" = the daemon's setting
  std::string resume_from; // set by the daemon
};

GattDataSpec parse_gatt_data_spec(const nlohmann::json& spec);

// parse + the registry: model exists; adapter exists and belongs to it; dataset exists and is an
// sft dataset; output is free. Throws SpecError naming the field.
void validate_gatt_data_spec(const nlohmann::json& spec);

}  // namespace wb::rlhf
