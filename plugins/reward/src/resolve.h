// resolve.h — registry names -> loaded objects, through the daemon's lookup and the plugin's one
// ModelCache (shared by methods and jobs of this plugin).
//
// Errors: an unregistered name throws plugin::HostError(WB_NOT_FOUND, "unknown model 'x'"); an
// adapter trained on another base, or a policy adapter where a reward model is wanted, throws
// plugin::SpecError naming `field` (WB_INVALID).
#pragma once

#include <memory>
#include <string>

#include "wb/reward/model_cache.h"
#include "wb/wb_plugin.h"

namespace wb::reward {

ModelCache& plugin_cache();

std::shared_ptr<const LoadedModel> resolve_model(const std::string& name, wb_job* job = nullptr);
// `field` names the request field in errors ("a.adapter").
std::shared_ptr<const LoadedAdapter> resolve_adapter(const std::string& field, const std::string& name,
                                                     const LoadedModel& base, wb_job* job = nullptr);

// A reward model by adapter name: its base (the record's base_model) and the adapter with its head.
struct ResolvedRm {
  std::shared_ptr<const LoadedModel> base;
  std::shared_ptr<const LoadedAdapter> rm;
  std::string kind;  // reward_helpfulness | reward_safety
};
ResolvedRm resolve_reward_model(const std::string& field, const std::string& name, wb_job* job = nullptr);

}  // namespace wb::reward
