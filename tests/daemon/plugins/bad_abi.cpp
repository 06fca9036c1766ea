// bad_abi — test plugin claiming a future ABI version: the daemon must refuse it (never call
// init) and report it in /v1/status, naming both versions.
#include <cstdlib>

#include "wb/wb_plugin.h"

namespace {

wb_status bad_init(const wb_host*, const char*, wb_error*) {
  std::abort();  // must never be called: the ABI check comes first
}

const char* const kKinds[] = {"bad_abi_kind", nullptr};
const wb_plugin kPlugin = {WB_PLUGIN_ABI_VERSION + 100, sizeof(wb_plugin), "bad_abi", "0.0.1", kKinds, bad_init, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
