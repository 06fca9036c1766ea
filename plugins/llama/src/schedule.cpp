#include "wb/llama/schedule.h"

#include <cmath>
#include <stdexcept>

namespace wb::llama {

ScheduleKind parse_schedule_kind(const std::string& name) {
  if (name == "constant") return ScheduleKind::kConstant;
  if (name == "cosine") return ScheduleKind::kCosine;
  throw std::invalid_argument("lr schedule: unknown kind '" + name + "' (expected constant or cosine)");
}

LrSchedule::LrSchedule(const ScheduleConfig& c) : c_(c) {
  if (!(c.lr >= 0)) throw std::invalid_argument("lr schedule: lr must be >= 0");
  if (!(c.min_lr >= 0) || c.min_lr > c.lr)
    throw std::invalid_argument("lr schedule: min_lr must be in [0, lr]");
  if (c.total_steps < 1) throw std::invalid_argument("lr schedule: total_steps must be >= 1");
  if (c.warmup_fraction >= 0) {
    if (c.warmup_fraction > 1) throw std::invalid_argument("lr schedule: warmup_fraction must be in [0, 1]");
    warmup_ = static_cast<int64_t>(std::llround(c.warmup_fraction * static_cast<double>(c.total_steps)));
  } else {
    warmup_ = c.warmup_steps;
  }
  if (warmup_ < 0 || warmup_ > c.total_steps)
    throw std::invalid_argument("lr schedule: warmup must be in [0, total_steps]");
}

double LrSchedule::lr_at(int64_t step) const {
  if (step < 0) step = 0;
  if (step < warmup_) return c_.lr * static_cast<double>(step + 1) / static_cast<double>(warmup_);
  if (c_.kind == ScheduleKind::kConstant) return c_.lr;
  const int64_t decay_steps = c_.total_steps - warmup_ - 1;
  if (decay_steps <= 0) return c_.lr;
  double p = static_cast<double>(step - warmup_) / static_cast<double>(decay_steps);
  if (p > 1) p = 1;
  return c_.min_lr + (c_.lr - c_.min_lr) * 0.5 * (1.0 + std::cos(M_PI * p));
}

}  // namespace wb::llama
