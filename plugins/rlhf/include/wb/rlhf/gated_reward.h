// gated_reward.h — the Llama 2 paper's combination of the two reward models (section 3.2.2):
//
//   R_c = R_s   if the prompt is unsafe or sigmoid(R_s) < threshold (0.15)
//         R_h   otherwise
//
// R_s is the safety reward model's raw score, R_h the helpfulness one's. Safety wins on prompts
// known to be unsafe and whenever the safety model itself judges the answer unsafe; elsewhere
// helpfulness decides. (The paper's PPO then whitens logit(R_c); that is PPO's, not this.)
#pragma once

namespace wb::rlhf {

inline constexpr double kSafetyGateThreshold = 0.15;

double sigmoid(double x);

// True when the safety score decides: unsafe_prompt, or sigmoid(safety) < threshold.
bool safety_gate(double safety, bool unsafe_prompt, double threshold = kSafetyGateThreshold);

// R_c as above. Throws std::invalid_argument for a non-finite score or a threshold outside (0, 1).
double gated_reward(double helpfulness, double safety, bool unsafe_prompt,
                    double threshold = kSafetyGateThreshold);

}  // namespace wb::rlhf
