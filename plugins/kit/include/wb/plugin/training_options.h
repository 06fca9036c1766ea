// training_options.h — the parts of a training spec that every training job (sft, pretrain,
// reward) reads and applies the same way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "wb/llama/peft_config.h"
#include "wb/llama/schedule.h"
#include "wb/llama/trainer.h"

namespace wb::plugin {

// The LoRA settings of a spec's "rank" (default 8), "alpha" (2 x rank), "dropout" (0) and
// "target_modules" (module names or "all-linear"; default all seven linears), validated.
// Throws SpecError naming the field (an unknown or repeated module, a bad rank).
llama::LoraConfig lora_from_spec(std::optional<int64_t> rank, std::optional<double> alpha,
                                 std::optional<double> dropout,
                                 const std::optional<std::vector<std::string>>& target_modules);

// The optimizer and schedule of a spec: any struct with the fields grad_accum, schedule, lr,
// min_lr, warmup (>= 1: steps; below 1: a fraction of the run), weight_decay, clip and seed.
template <typename Spec>
llama::TrainerConfig trainer_config(const Spec& s, int64_t total_steps) {
  llama::TrainerConfig tc;
  tc.total_steps = total_steps;
  tc.micro_batches = s.grad_accum;
  tc.schedule.kind = llama::parse_schedule_kind(s.schedule);
  tc.schedule.lr = s.lr;
  tc.schedule.min_lr = s.min_lr;
  if (s.warmup >= 1)
    tc.schedule.warmup_steps = std::min<int64_t>(static_cast<int64_t>(s.warmup), total_steps);
  else
    tc.schedule.warmup_fraction = s.warmup;
  tc.adamw.weight_decay = s.weight_decay;
  tc.adamw.max_grad_norm = s.clip;
  tc.seed = s.seed;
  return tc;
}

}  // namespace wb::plugin
