// host_api.h — the wb_host tables the daemon hands to plugins' init().
//
// Each function is a plain C function backed by the daemon's storage and event hub, reached
// through the table's ctx (a HostServices); see wb_plugin.h for the contract of each entry. All
// are thread-safe, never throw across the ABI, and report failures as a wb_status + message.
#pragma once

#include <string>

#include "jobs/job_events.h"
#include "plugins/plugin_abi_v2.h"
#include "wb/wb_plugin.h"

namespace wb::daemon {

struct HostServices {
  JobEvents* events = nullptr;  // storage + event hub
  std::string data_dir;         // absolute
};

// The current (ABI 3) table; its ctx is `services`, which must outlive every plugin call.
wb_host make_host_table(HostServices* services);

// The ABI 2 table for plugins built against it. Its functions carry no context: those taking a
// job reach the daemon through the job handle (wb_job::host_ctx), the job-less ones through the
// `services` given to the last call of this function (one daemon per process).
abi_v2::wb_host make_host_table_v2(HostServices* services);
// Forgets `services` as the ABI 2 tables' context if it still is (the daemon is going away); a
// job-less ABI 2 call after that answers WB_ERROR instead of reaching freed services.
void release_host_table_v2(HostServices* services);

}  // namespace wb::daemon
