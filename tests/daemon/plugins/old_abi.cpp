// old_abi — a plugin claiming ABI 1, older than the oldest the daemon supports: refused (init
// never called) with the supported range named.
#include <cstdlib>

#include "wb/wb_plugin.h"

namespace {

wb_status old_init(const wb_host*, const char*, wb_error*) { std::abort(); }

const char* const kKinds[] = {"old_abi_kind", nullptr};
const wb_plugin kPlugin = {1, sizeof(wb_plugin), "old_abi", "0.0.1", kKinds, old_init, nullptr, nullptr, nullptr,
                           nullptr, nullptr, nullptr};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
