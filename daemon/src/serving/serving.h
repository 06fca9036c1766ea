// serving.h — the daemon's side of the serving plugin (wb_serving in wb_plugin.h).
//
// Finds the loaded plugin that fills a wb_serving table and calls it, turning its statuses into
// the ApiError a handler throws (docs/PROTOCOL.md "Serving"):
//   no serving plugin or no resident model → 503 unavailable
//   a plugin's status as plugin_status.h maps it, WB_BUSY → 429 queue_full (submit) or
//   409 conflict (loads: capacity);
// the message is the plugin's. Also owns the daemon-side serving metrics (serving_metrics.h).
// Thread-safe: every call goes straight to the plugin, whose table is thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "plugins/plugin_host.h"
#include "serving/serving_metrics.h"
#include "wb/wb_plugin.h"

namespace wb::daemon {

class Serving {
 public:
  explicit Serving(const PluginHost& plugins) : plugins_(plugins) {}

  // The plugin's table; throws 503 unavailable when no loaded plugin serves requests.
  const wb_serving& table() const;
  bool available() const { return plugins_.serving() != nullptr; }

  // stats() as JSON: {"model",...,"adapters":[{"name","refs",..}],"running","queued",..}.
  nlohmann::json stats() const;
  // The resident base model's name (stats()["model"] as a name, or its "name" field), or nullopt.
  static std::optional<std::string> model_name(const nlohmann::json& stats);

  void load_model(const nlohmann::json& request) const;   // {"name","path","max_batch",..}
  void unload_model() const;
  void load_adapter(const nlohmann::json& request) const; // {"name","path","scale"?}
  void unload_adapter(const std::string& name) const;

  // Throws the ApiError for a failed call (`what` names the call in a message without one).
  [[noreturn]] static void fail(wb_status st, const wb_error& err, const std::string& what, bool load);

  const std::shared_ptr<ServingMetrics>& metrics() const { return metrics_; }

 private:
  const PluginHost& plugins_;
  std::shared_ptr<ServingMetrics> metrics_ = std::make_shared<ServingMetrics>();
};

}  // namespace wb::daemon
