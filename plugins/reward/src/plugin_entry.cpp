// The reward plugin's C ABI boundary (wb_plugin.h): jobs reward and label_synthetic, methods
// label.pair and reward.score. Exceptions become a wb_status plus message here and nowhere else.
#include <string>

#include <nlohmann/json.hpp>

#include "wb/plugin/guard.h"
#include "wb/plugin/host.h"
#include "label_job.h"
#include "methods.h"
#include "reward_job.h"
#include "reward_spec.h"
#include "rm_scorer.h"
#include "wb/plugin/spec.h"
#include "wb/plugin/device.h"
#include "spec_fields.h"
#include "wb/plugin/fields.h"
#include "wb/wb_plugin.h"

namespace {

using nlohmann::json;

using wb::plugin::guarded;

wb_status reward_init(const wb_host* host, const char* config_json, wb_error* err) {
  return guarded(err, [&] {
    wb::plugin::Host::install(host, "reward");
    // The daemon's `device`: the default of reward specs and requests without "device" (this
    // module's own copy of the sft code's default: reward_device.h).
    wb::plugin::apply_init_config(config_json);
    return WB_OK;
  });
}

wb_status reward_validate(const char* kind_c, const char* spec_json, wb_error* err) {
  const std::string kind = kind_c ? kind_c : "";
  return guarded(err, [&] {
    const json spec = wb::plugin::parse_spec(spec_json);
    if (kind == "reward") wb::reward::validate_reward_spec(spec);
    else if (kind == "label_synthetic") wb::reward::validate_label_synthetic(spec);
    else throw wb::plugin::PluginError(WB_INVALID, "unknown job kind '" + kind + "'");
    return WB_OK;
  });
}

wb_status reward_run(wb_job* job, const char* kind_c, const char* spec_json, wb_error* err) {
  const std::string kind = kind_c ? kind_c : "";
  const wb::plugin::JobHost host(job);
  const wb_status st = guarded(err, [&] {
    const json spec = wb::plugin::parse_spec(spec_json);
    if (kind == "reward") return wb::reward::run_reward(host, spec);
    if (kind == "label_synthetic") return wb::reward::run_label_synthetic(host, spec);
    throw wb::plugin::PluginError(WB_INVALID, "unknown job kind '" + kind + "'");
  });
  if (st != WB_OK && st != WB_CANCELLED && st != WB_INTERRUPTED && err) host.log(WB_LOG_ERROR, err->message);
  return st;
}

wb_status reward_invoke(const char* method_c, const char* request_json, wb_emit_fn emit, void* user, wb_error* err) {
  const std::string method = method_c ? method_c : "";
  return guarded(err, [&] {
    const json req = wb::plugin::parse_spec(request_json);
    json answer;
    if (method == "label.pair") answer = wb::reward::label_pair(req);
    else if (method == "reward.score") answer = wb::reward::reward_score(req);
    else throw wb::plugin::PluginError(WB_NOT_FOUND, "reward plugin: no method '" + method + "'");
    const std::string text = answer.dump(-1, ' ', false, json::error_handler_t::replace);
    emit(user, text.c_str());
    return WB_OK;
  });
}

void reward_shutdown() { wb::reward::release_gpu_scorers(); }

const char* const kJobKinds[] = {"reward", "label_synthetic", nullptr};
const char* const kMethods[] = {"label.pair", "reward.score", nullptr};

// Built on the first call, after the module's static tables exist.
const wb_plugin& plugin() {
  static const std::string fields = wb::plugin::describe_all(wb::reward::reward_job_fields());
  static const wb_plugin p = {
      WB_PLUGIN_ABI_VERSION, sizeof(wb_plugin), "reward", "0.1.0", kJobKinds, reward_init, reward_validate, reward_run,
      reward_shutdown, nullptr, kMethods, reward_invoke, nullptr /* estimate */, fields.c_str(),
  };
  return p;
}

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &plugin(); }
