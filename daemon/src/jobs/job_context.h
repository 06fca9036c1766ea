// job_context.h — what the daemon's opaque `wb_job*` handle points at while a job runs.
//
// The scheduler creates one per run() call and keeps it alive until run() returns; the host
// table functions (host_api.h) cast the plugin's wb_job* back to it.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "wb/wb_plugin.h"

struct wb_job {
  std::int64_t id = 0;
  void* host_ctx = nullptr;               // the daemon's host context (ABI 2 host functions find it here)
  std::string kind;
  std::string dir;                        // <data_dir>/jobs/<id>, created before run()
  std::atomic<bool> cancel_requested{false};  // user cancel (DELETE /v1/jobs/{id})
  std::atomic<bool> shutting_down{false};     // daemon stopping: checkpoint and return INTERRUPTED
};
