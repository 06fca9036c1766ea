// reward_config.h — <adapter dir>/reward_config.json, written next to the PEFT files of a
// reward adapter: what the head scores and how its inputs were built.
//
//   {"head": "helpfulness" | "safety", "max_len": 128, "base_model": "pretrained",
//    "margins": [0, 0.333, 0.667, 1], "centering": 0, "input": "llama2-chat-turn",
//    "score_file": "score.safetensors"}
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

namespace wb::reward {

inline constexpr const char* kRewardConfigFile = "reward_config.json";

struct RewardConfig {
  std::string head;              // helpfulness | safety
  int64_t max_len = 0;           // tokens per scored sequence
  std::string base_model;
  std::array<double, 4> margins{};
  double centering = 0;
};

void save_reward_config(const std::filesystem::path& dir, const RewardConfig& c);
// Throws std::runtime_error naming the file and field when it is malformed.
RewardConfig load_reward_config(const std::filesystem::path& dir);

}  // namespace wb::reward
