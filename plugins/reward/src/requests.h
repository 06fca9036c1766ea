// requests.h — strict parsing of the reward plugin's method requests and the pieces its job
// specs share with them. Every parser rejects unknown fields and names the bad one
// (plugin::SpecError "field 'a.temperature': ..." -> WB_INVALID).
//
//   label.pair    {"model", "prompt", "a": {"adapter": name|null, "temperature": x},
//                  "b": {...}, "max_tokens": n (default 64), "seed": n (default 0)}
//   reward.score  {"rm", "items": [{"prompt","response"}, ...]}
//              or {"rm", "dataset", "split": "train"|"eval"|"all" (default all), "limit": n (0: all)}
//                 either form may add "device": "auto"|"cpu"|"cuda" (default: the daemon's
//                 device setting; reward_device.h)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::reward {

// One side of a sampled pair: an adapter name ("" = the base model) and a temperature.
struct SideRequest {
  std::string adapter;
  double temperature = 0.7;
};
// Reads `parent[field]` (an object; absent = base model at 0.7). Errors name "field.key".
SideRequest parse_side(const nlohmann::json& parent, const std::string& field);

struct LabelPairRequest {
  std::string model, prompt;
  SideRequest a, b;
  int64_t max_tokens = 64;
  uint64_t seed = 0;
};
LabelPairRequest parse_label_pair(const nlohmann::json& req);

struct ScoreItem {
  std::string prompt, response;
};
struct ScoreRequest {
  std::string rm;
  std::vector<ScoreItem> items;  // item form
  std::string dataset;           // dataset form
  std::string split;             // "" = all rows
  int64_t limit = 0;
  std::string device;            // "" = the daemon's default
};
ScoreRequest parse_score(const nlohmann::json& req);

}  // namespace wb::reward
