// ServeError: the one exception the serve plugin's units throw for a failure the caller must see,
// carrying the wb_status it becomes at the C ABI (WB_INVALID for bad input, WB_NOT_FOUND for an
// unknown model/adapter/path, WB_BUSY for a full queue or adapter table). plugin_entry.cpp turns
// it into status + message; any other std::exception becomes WB_ERROR.
#pragma once

#include <stdexcept>
#include <string>

#include "wb/wb_plugin.h"

namespace wb::serve {

class ServeError : public std::runtime_error {
 public:
  ServeError(wb_status status, const std::string& message) : std::runtime_error(message), status_(status) {}
  wb_status status() const { return status_; }

 private:
  wb_status status_;
};

}  // namespace wb::serve
