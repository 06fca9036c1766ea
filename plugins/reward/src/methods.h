// methods.h — the reward plugin's synchronous methods (wb_plugin.invoke, ABI 2).
//
//   label.pair    request: see requests.h. Answer:
//                 {"response_a", "response_b", "model_a", "model_b"}; model_x names what produced
//                 the response: "<model>@T=<temperature>" for the base, "<model>+<adapter>@T=<t>"
//                 with an adapter (pair_sampler.h side_label). Side a samples with seed, side b
//                 with seed + 1.
//   reward.score  item form -> {"rm", "kind", "device", "scores": [r_0, ...]}
//                 dataset form -> {"rm", "kind", "device", "dataset", "split", "n", "rows":
//                 [{"index","chosen","rejected","difference","correct","rating"?,"safety"?}], plus the
//                 accuracy report of pair_eval.h ("accuracy", "by_rating", "by_safety", ...)}
//
// "device" is where the scores were computed, "cpu" or "cuda" (the request's "device", else the
// daemon's setting: reward_device.h; on cuda the engine's GPU scorer, rm_scorer.h). label.pair
// samples on the CPU whatever the device (docs/REWARD.md "Device" says why).
// Both are thread-safe (the model cache has a mutex; each call has its own workspaces).
// Errors: plugin::SpecError (WB_INVALID, names the field), plugin::HostError (WB_NOT_FOUND for an
// unknown model / adapter / dataset, naming it).
#pragma once

#include <nlohmann/json.hpp>

namespace wb::reward {

nlohmann::json label_pair(const nlohmann::json& request);
nlohmann::json reward_score(const nlohmann::json& request);

}  // namespace wb::reward
