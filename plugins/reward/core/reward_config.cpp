#include "wb/reward/reward_config.h"

#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace wb::reward {
namespace fs = std::filesystem;
using nlohmann::json;

void save_reward_config(const fs::path& dir, const RewardConfig& c) {
  fs::create_directories(dir);
  const json j = {{"head", c.head},           {"max_len", c.max_len},     {"base_model", c.base_model},
                  {"margins", c.margins},     {"centering", c.centering}, {"input", "llama2-chat-turn"},
                  {"score_file", "score.safetensors"}};
  std::ofstream(dir / kRewardConfigFile) << j.dump(2) << "\n";
}

RewardConfig load_reward_config(const fs::path& dir) {
  const fs::path file = dir / kRewardConfigFile;
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file.string() + ": cannot read");
  const json j = json::parse(in, nullptr, false);
  if (!j.is_object()) throw std::runtime_error(file.string() + ": not a JSON object");
  RewardConfig c;
  try {
    c.head = j.at("head").get<std::string>();
    c.max_len = j.at("max_len").get<int64_t>();
    c.base_model = j.value("base_model", "");
    if (j.contains("margins")) c.margins = j.at("margins").get<std::array<double, 4>>();
    c.centering = j.value("centering", 0.0);
  } catch (const json::exception& e) {
    throw std::runtime_error(file.string() + ": " + e.what());
  }
  if (c.max_len < 2) throw std::runtime_error(file.string() + ": field 'max_len' must be >= 2");
  return c;
}

}  // namespace wb::reward
