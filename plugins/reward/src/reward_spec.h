// reward_spec.h — the reward job's spec, parsed strictly (plugin::SpecReader: unknown fields are
// errors naming them), and its submission-time checks against the registry.
//
//   {"model": base model, "adapter": SFT (policy) adapter to start the LoRA from (optional),
//    "head": "helpfulness" | "safety",
//    "datasets": [{"name": preference dataset, "ratio": sampling weight (default 1)}, ...]
//                (a plain string is {"name": it, "ratio": 1}),
//    "eval_datasets": [names]  held-out pairs besides each dataset's eval split (optional),
//    "margins": [m0, m1, m2, m3] by rating (default 0, 1/3, 2/3, 1; all zeros disables),
//    "centering": c >= 0 (reward-centering penalty c * (r_c + r_r)^2, default 0),
//    "rank" (8), "alpha" (2 * rank), "dropout" (0), "target_modules" (all-linear) — only without
//    "adapter" (an SFT adapter brings its own), "lr" (1e-3), "min_lr" (0), "schedule"
//    (cosine | constant), "warmup" (0.03: a fraction < 1 or a step count), "weight_decay" (0),
//    "clip" (1), "epochs" (1) | "max_steps", "batch" (pairs per micro-batch, 8), "grad_accum" (1),
//    "max_len" (tokens per scored sequence; default min(256, context)), "seed" (0),
//    "eval_every" (0: start and end only), "log_every" (1), "checkpoint_every" (0),
//    "device": "auto" | "cpu" | "cuda" (default: the daemon's device setting; reward_device.h —
//              cuda trains through the GPU trainer, LoRA dropout keeps a job on the CPU),
//    "output": the reward adapter's name}
// The daemon adds "job_id" and "resume_from"; both are accepted.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/peft_config.h"
#include "wb/reward/preference_pairs.h"

namespace wb::reward {

struct DatasetMix {
  std::string name;
  double ratio = 1.0;
};

struct RewardSpec {
  std::string model, adapter, head, output;
  std::vector<DatasetMix> datasets;
  std::vector<std::string> eval_datasets;
  Margins margins = kPaperMargins;
  double centering = 0;
  llama::LoraConfig lora;  // unused with adapter
  double lr = 1e-3, min_lr = 0;
  std::string schedule = "cosine";
  double warmup = 0.03;
  double weight_decay = 0, clip = 1;
  int64_t epochs = 1;
  std::optional<int64_t> max_steps;
  int64_t batch = 8, grad_accum = 1;
  int64_t max_len = 0;  // 0: min(256, the model's context)
  uint64_t seed = 0;
  int64_t eval_every = 0, log_every = 1, checkpoint_every = 0;
  std::string resume_from;
  std::string device;  // "" = the daemon's default
  int64_t world = 1;     // data-parallel ranks (wb/plugin/data_parallel.h)
  bool reshard = false;  // resume a checkpoint of another world size
};

RewardSpec parse_reward_spec(const nlohmann::json& spec);
// parse + the registry: model, adapter (a policy adapter of that model), datasets (preference
// kind) exist; output is a free adapter name; the device can run the job (reward_device.h).
void validate_reward_spec(const nlohmann::json& spec);

// What keeps this job on the CPU ("" when the GPU trainer can run it): LoRA dropout, the spec's
// or, continuing an SFT adapter, that adapter's (`continued`: its config, when there is one).
std::string reward_cpu_only(const RewardSpec& s, const llama::LoraConfig* continued);

// The reward_<head> adapter kind.
std::string reward_kind(const std::string& head);

}  // namespace wb::reward
