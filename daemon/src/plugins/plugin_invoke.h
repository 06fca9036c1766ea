// plugin_invoke.h — calls a plugin's synchronous method (wb_plugin.invoke, ABI 2) from a handler.
//
// invoke_method(plugins, "reward.score", request) finds the plugin that declared the method,
// passes the request as JSON text and returns the plugin's JSON answer. Statuses become the
// ApiError a handler throws (plugin_status.h; WB_BUSY → 429 busy), no plugin for the method →
// 422 unsupported_method; the message is the plugin's. It runs on the calling (io worker) thread.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "plugins/plugin_host.h"

namespace wb::daemon {

nlohmann::json invoke_method(const PluginHost& plugins, const std::string& method,
                             const nlohmann::json& request);

}  // namespace wb::daemon
