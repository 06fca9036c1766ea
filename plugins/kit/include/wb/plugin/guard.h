// guard.h — the one exception-to-status boundary of every plugin built on the kit: each C ABI
// entry point runs its body through guarded(), so no exception crosses and each keeps its cause:
//   JsonFieldError, JsonParseError, nlohmann JSON errors     → WB_INVALID (the message names the field)
//   PluginError (host.h's failed host calls too)            → its status
//   EngineError                                             → by its kind (status_of): no_space
//                                                             (the engine's writers on a full disk)
//                                                             → WB_NO_SPACE
//   std::bad_alloc                                          → WB_NO_MEMORY
//   std::filesystem::filesystem_error                       → WB_NO_SPACE for ENOSPC, EDQUOT, EFBIG
//                                                             (disk or quota full), else WB_IO
//   any other exception                                     → WB_ERROR with its message
//
//   wb_status my_run(wb_job* job, const char* kind, const char* spec, wb_error* err) {
//     return wb::plugin::guarded(err, [&] { ...; return WB_OK; });
//   }
#pragma once

#include <exception>
#include <functional>

#include "wb/wb_plugin.h"

namespace wb::plugin {

// The status and message for the exception being handled (call only inside a catch block).
wb_status status_of_current_exception(wb_error* err);

template <typename F>
wb_status guarded(wb_error* err, F&& fn) {
  try {
    return fn();
  } catch (...) {
    return status_of_current_exception(err);
  }
}

}  // namespace wb::plugin
