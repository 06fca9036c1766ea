// Learning-rate schedules: constant, or linear warm-up followed by cosine decay to min_lr.
// Warm-up is given either in steps or as a fraction of the total steps (Llama 2's reward models
// used 3%). Steps are 0-based: lr_at(0) is the rate of the first optimizer step.
#pragma once

#include <cstdint>
#include <string>

namespace wb::llama {

enum class ScheduleKind { kConstant, kCosine };

// "constant" | "cosine"; throws std::invalid_argument naming the bad value.
ScheduleKind parse_schedule_kind(const std::string& name);

struct ScheduleConfig {
  ScheduleKind kind = ScheduleKind::kCosine;
  double lr = 1e-3;              // peak rate
  double min_lr = 0.0;           // rate reached at the last step (cosine)
  int64_t total_steps = 1;       // optimizer steps in the run
  int64_t warmup_steps = 0;      // used when warmup_fraction < 0
  double warmup_fraction = -1;   // in [0, 1]: warm-up = round(fraction * total_steps)
};

class LrSchedule {
 public:
  // Throws std::invalid_argument for a negative rate, min_lr > lr, total_steps < 1, or a
  // warm-up outside [0, total_steps].
  explicit LrSchedule(const ScheduleConfig& c);

  // Warm-up: lr * (step + 1) / warmup, so the first step already moves. Afterwards constant,
  // or min_lr + (lr - min_lr) * (1 + cos(pi * p)) / 2 with p = (step - warmup) / (total - warmup)
  // going 0 -> 1 over the remaining steps (the last step gets exactly min_lr when total > warmup + 1).
  double lr_at(int64_t step) const;
  int64_t warmup_steps() const { return warmup_; }
  const ScheduleConfig& config() const { return c_; }

 private:
  ScheduleConfig c_;
  int64_t warmup_ = 0;
};

}  // namespace wb::llama
