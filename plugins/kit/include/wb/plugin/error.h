// error.h — the plugin kit's error with a status: what a plugin throws when the caller must see a
// particular wb_status (WB_NOT_FOUND for an unknown model, WB_BUSY for a full queue, ...), and what
// a failed host call becomes (host.h). guard.h turns it back into that status at the C ABI.
//
//   throw PluginError(WB_NOT_FOUND, "adapter 'x' is not loaded");
#pragma once

#include <stdexcept>
#include <string>

#include "wb/engine_error.h"
#include "wb/wb_plugin.h"

namespace wb::plugin {

class PluginError : public std::runtime_error {
 public:
  PluginError(wb_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  wb_status status() const { return status_; }

 private:
  wb_status status_;
};

// The status an engine error crosses the ABI as (wb/engine_error.h lists the pairs).
wb_status status_of(ErrorKind kind);

}  // namespace wb::plugin
