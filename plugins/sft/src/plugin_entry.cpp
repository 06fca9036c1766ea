// The sft plugin's C ABI boundary (wb_plugin.h): wb_plugin_entry, init/validate/run/shutdown.
// Everything below is C++ with exceptions; here they become a wb_status plus message.
#include <string>

#include <nlohmann/json.hpp>

#include "estimate.h"
#include "eval_job.h"
#include "wb/plugin/guard.h"
#include "wb/plugin/host.h"
#include "model_jobs.h"
#include "wb/plugin/spec.h"
#include "spec_fields.h"
#include "specs.h"
#include "wb/plugin/fields.h"
#include "wb/plugin/device.h"
#include "train_job.h"
#include "wb/wb_plugin.h"

namespace {

using nlohmann::json;

using wb::plugin::guarded;

wb_status sft_init(const wb_host* host, const char* config_json, wb_error* err) {
  return guarded(err, [&] {
    wb::plugin::Host::install(host, "sft");
    wb::plugin::apply_init_config(config_json);  // the daemon's `device`: the default of train specs
    return WB_OK;
  });
}

wb_status sft_validate(const char* kind, const char* spec_json, wb_error* err) {
  return guarded(err, [&] {
    wb::sft::validate_spec(kind ? kind : "", wb::plugin::parse_spec(spec_json));
    return WB_OK;
  });
}

wb_status sft_run(wb_job* job, const char* kind_c, const char* spec_json, wb_error* err) {
  const std::string kind = kind_c ? kind_c : "";
  const wb::plugin::JobHost host(job);
  const wb_status st = guarded(err, [&] {
    const json spec = wb::plugin::parse_spec(spec_json);
    if (kind == "pretrain" || kind == "sft") return wb::sft::run_train(host, kind, spec);
    if (kind == "eval") return wb::sft::run_eval(host, spec);
    if (kind == "model_init") wb::sft::run_model_init(host, spec);
    else if (kind == "model_import") wb::sft::run_model_import(host, spec);
    else if (kind == "model_export") wb::sft::run_model_export(host, spec);
    else throw wb::plugin::PluginError(WB_INVALID, "unknown job kind '" + kind + "'");
    return WB_OK;
  });
  if (st != WB_OK && st != WB_CANCELLED && st != WB_INTERRUPTED && err) host.log(WB_LOG_ERROR, err->message);
  return st;
}

wb_status sft_estimate(const char* kind, const char* spec_json, wb_emit_fn emit, void* user, wb_error* err) {
  return guarded(err, [&] {
    const std::string text = wb::sft::estimate_spec(kind ? kind : "", wb::plugin::parse_spec(spec_json)).dump();
    emit(user, text.c_str());
    return WB_OK;
  });
}

void sft_shutdown() {}

// Built on the first call, after the module's static tables exist.
const wb_plugin& plugin() {
  static const std::string fields = wb::plugin::describe_all(wb::sft::sft_job_fields());
  static const wb_plugin p = {
      WB_PLUGIN_ABI_VERSION, sizeof(wb_plugin), "sft", "0.1.0", wb::sft::kJobKinds, sft_init, sft_validate, sft_run, sft_shutdown,
      nullptr,         // serving
      nullptr,         // methods
      nullptr,         // invoke
      sft_estimate,    // estimate
      fields.c_str(),  // job_fields_json
  };
  return p;
}

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &plugin(); }
