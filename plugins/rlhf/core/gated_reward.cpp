#include "wb/rlhf/gated_reward.h"

#include <cmath>
#include <stdexcept>
#include <string>

namespace wb::rlhf {

double sigmoid(double x) {
  // Two branches so neither exp overflows.
  if (x >= 0) return 1.0 / (1.0 + std::exp(-x));
  const double e = std::exp(x);
  return e / (1.0 + e);
}

bool safety_gate(double safety, bool unsafe_prompt, double threshold) {
  return unsafe_prompt || sigmoid(safety) < threshold;
}

double gated_reward(double helpfulness, double safety, bool unsafe_prompt, double threshold) {
  if (!std::isfinite(helpfulness)) throw std::invalid_argument("gated_reward: helpfulness score is not finite");
  if (!std::isfinite(safety)) throw std::invalid_argument("gated_reward: safety score is not finite");
  if (!(threshold > 0.0 && threshold < 1.0))
    throw std::invalid_argument("gated_reward: threshold must be in (0, 1), got " + std::to_string(threshold));
  return safety_gate(safety, unsafe_prompt, threshold) ? safety : helpfulness;
}

}  // namespace wb::rlhf
