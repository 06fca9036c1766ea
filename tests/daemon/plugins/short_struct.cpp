// short_struct — an ABI 3 plugin built before wb_plugin grew its methods/invoke fields: its
// struct ends after `serving` and its struct_size says so. Right after it in memory lie a methods
// list and an invoke pointer that the daemon must never read (it would then answer
// "short.poison"). Job kind "short": logs one line through the host table and succeeds.
#include <cstddef>

#include "wb/wb_plugin.h"

namespace {

const wb_host* g_host = nullptr;

wb_status short_init(const wb_host* host, const char*, wb_error* err) {
  if (!host || host->abi_version < 3 || !WB_STRUCT_HAS(host, wb_host, job_log)) {
    wb_error_set(err, "short_struct: host table without job_log");
    return WB_ERROR;
  }
  g_host = host;
  return WB_OK;
}

wb_status short_run(wb_job* job, const char*, const char*, wb_error*) {
  g_host->job_log(g_host->ctx, job, WB_LOG_INFO, "short_struct ran");
  g_host->job_progress(g_host->ctx, job, 1.0, "short");
  return WB_OK;
}

wb_status poison_invoke(const char*, const char*, wb_emit_fn, void*, wb_error*) { return WB_OK; }

// wb_plugin as it was before `methods` was appended.
struct ShortPlugin {
  uint32_t abi_version;
  uint32_t struct_size;
  const char* name;
  const char* version;
  const char* const* job_kinds;
  wb_status (*init)(const wb_host*, const char*, wb_error*);
  wb_status (*validate)(const char*, const char*, wb_error*);
  wb_status (*run)(wb_job*, const char*, const char*, wb_error*);
  void (*shutdown)(void);
  const wb_serving* serving;
};
static_assert(sizeof(ShortPlugin) == offsetof(wb_plugin, methods), "ShortPlugin is wb_plugin up to serving");

const char* const kKinds[] = {"short", nullptr};
const char* const kPoisonMethods[] = {"short.poison", nullptr};

struct Module {
  ShortPlugin plugin;
  const char* const* poison_methods;  // where a full wb_plugin has `methods`
  wb_status (*poison)(const char*, const char*, wb_emit_fn, void*, wb_error*);
};
const Module kModule = {
    {WB_PLUGIN_ABI_VERSION, sizeof(ShortPlugin), "short_struct", "0.0.1", kKinds, short_init, nullptr, short_run,
     nullptr, nullptr},
    kPoisonMethods,
    poison_invoke,
};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) {
  return reinterpret_cast<const wb_plugin*>(&kModule.plugin);
}
