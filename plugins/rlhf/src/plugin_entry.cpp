// The rlhf plugin's C ABI boundary (wb_plugin.h): jobs dpo, ppo, rejection_sampling, gatt_data and
// rlhf_eval. Exceptions become a wb_status plus
// message here and nowhere else.
#include <string>

#include <nlohmann/json.hpp>

#include "dpo_job.h"
#include "field_docs.h"
#include "dpo_spec.h"
// ---- ppo and rejection_sampling jobs ----
#include "ppo_job.h"
#include "ppo_spec.h"
#include "rs_job.h"
#include "rs_spec.h"
// ---- end ppo and rejection_sampling ----
#include "gatt_data_job.h"
#include "gatt_data_spec.h"
#include "eval_job.h"
#include "eval_spec.h"
#include "wb/plugin/device.h"
#include "wb/plugin/guard.h"
#include "wb/plugin/host.h"
#include "wb/plugin/spec.h"
#include "wb/wb_plugin.h"

namespace {

using nlohmann::json;
using wb::plugin::guarded;

wb_status rlhf_init(const wb_host* host, const char* config_json, wb_error* err) {
  return guarded(err, [&] {
    wb::plugin::Host::install(host, "rlhf");
    wb::plugin::apply_init_config(config_json);  // the daemon's `device`: the default of specs
    return WB_OK;
  });
}

wb_status rlhf_validate(const char* kind_c, const char* spec_json, wb_error* err) {
  const std::string kind = kind_c ? kind_c : "";
  return guarded(err, [&] {
    const json spec = wb::plugin::parse_spec(spec_json);
    if (kind == "dpo") wb::rlhf::validate_dpo_spec(spec);
    else if (kind == "ppo") wb::rlhf::validate_ppo_spec(spec);
    else if (kind == "rejection_sampling") wb::rlhf::validate_rs_spec(spec);
    else if (kind == "gatt_data") wb::rlhf::validate_gatt_data_spec(spec);
    else if (kind == "rlhf_eval") wb::rlhf::validate_rlhf_eval_spec(spec);
    else throw wb::plugin::PluginError(WB_INVALID, "unknown job kind '" + kind + "'");
    return WB_OK;
  });
}

wb_status rlhf_run(wb_job* job, const char* kind_c, const char* spec_json, wb_error* err) {
  const std::string kind = kind_c ? kind_c : "";
  const wb::plugin::JobHost host(job);
  const wb_status st = guarded(err, [&] {
    const json spec = wb::plugin::parse_spec(spec_json);
    if (kind == "dpo") return wb::rlhf::run_dpo(host, spec);
    if (kind == "ppo") return wb::rlhf::run_ppo(host, spec);
    if (kind == "rejection_sampling") return wb::rlhf::run_rs(host, spec);
    if (kind == "gatt_data") return wb::rlhf::run_gatt_data(host, spec);
    if (kind == "rlhf_eval") return wb::rlhf::run_rlhf_eval(host, spec);
    throw wb::plugin::PluginError(WB_INVALID, "unknown job kind '" + kind + "'");
  });
  if (st != WB_OK && st != WB_CANCELLED && st != WB_INTERRUPTED && err) host.log(WB_LOG_ERROR, err->message);
  return st;
}

void rlhf_shutdown() {}

const char* const kJobKinds[] = {"dpo", "ppo", "rejection_sampling", "gatt_data", "rlhf_eval", nullptr};

// Built on the first call, after the module's static tables exist.
const wb_plugin& plugin() {
  static const std::string fields = wb::rlhf::rlhf_job_fields_json();
  static const wb_plugin p = {
      WB_PLUGIN_ABI_VERSION, sizeof(wb_plugin), "rlhf", "0.1.0", kJobKinds, rlhf_init, rlhf_validate, rlhf_run,
      rlhf_shutdown,
      nullptr,         // serving
      nullptr,         // methods
      nullptr,         // invoke
      nullptr,         // estimate
      fields.c_str(),  // job_fields_json (field_docs.h)
  };
  return p;
}

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &plugin(); }
