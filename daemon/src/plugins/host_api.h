// host_api.h — the wb_host table the daemon hands to every plugin's init().
//
// Each function is a plain C function backed by the daemon's storage and event hub (set once
// by install_host_api()); see wb_plugin.h for the contract of each entry. All are thread-safe,
// never throw across the ABI, and report failures as a wb_status + message.
#pragma once

#include <string>

#include "jobs/job_events.h"
#include "wb/wb_plugin.h"

namespace wb::daemon {

struct HostServices {
  JobEvents* events = nullptr;  // storage + event hub
  std::string data_dir;         // absolute
};

// Installs the services the host functions use (one daemon per process) and returns the table.
// `services` must outlive every plugin call.
const wb_host* install_host_api(HostServices* services);

}  // namespace wb::daemon
