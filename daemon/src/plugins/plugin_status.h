// plugin_status.h — the one mapping from a plugin's failure status to the HTTP answer:
//   WB_INVALID     → 400 invalid_request     WB_NOT_FOUND   → 404 not_found
//   WB_UNSUPPORTED → 422 unsupported         WB_NO_MEMORY   → 507 out_of_memory
//   WB_IO          → 500 io_error            WB_BUSY        → `busy` (429 or 409, by the route)
//   WB_NO_SPACE    → 507 disk_full
//   anything else  → 500 plugin_error
#pragma once

#include <string>

#include "http/api_error.h"
#include "wb/wb_plugin.h"

namespace wb::daemon {

inline ApiError plugin_failure(wb_status st, const std::string& message, const ApiError& busy) {
  switch (st) {
    case WB_INVALID: return invalid_request(message);
    case WB_NOT_FOUND: return not_found(message);
    case WB_UNSUPPORTED: return ApiError(422, "unsupported", message);
    case WB_NO_MEMORY: return ApiError(507, "out_of_memory", message);
    case WB_IO: return ApiError(500, "io_error", message);
    case WB_NO_SPACE: return ApiError(507, "disk_full", message);
    case WB_BUSY: return busy;
    default: return ApiError(500, "plugin_error", message);
  }
}

}  // namespace wb::daemon
