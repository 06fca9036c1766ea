// failing_init — test plugin whose init() fails: the daemon reports the message in /v1/status
// and does not serve its job kind.
#include <cstdio>

#include "wb/wb_plugin.h"

namespace {

wb_status failing_init(const wb_host*, const char*, wb_error* err) {
  std::snprintf(err->message, sizeof err->message, "failing_init refuses to start (test plugin)");
  return WB_ERROR;
}

wb_status never_run(wb_job*, const char*, const char*, wb_error*) { return WB_ERROR; }

const char* const kKinds[] = {"never", nullptr};
const wb_plugin kPlugin = {WB_PLUGIN_ABI_VERSION, sizeof(wb_plugin), "failing_init", "0.0.1", kKinds, failing_init, nullptr, never_run, nullptr, nullptr, nullptr, nullptr};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
