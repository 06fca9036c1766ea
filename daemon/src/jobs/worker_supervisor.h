// worker_supervisor.h — runs one job's plugin in a wb-worker process and supervises it.
//
// run_in_worker() creates a socketpair, forks and execs wb-worker with its end as fd 3 (the
// child dies with the daemon: PR_SET_PDEATHSIG), sends it the job (plugin file, init config,
// spec, job dir), then relays what the worker sends through the daemon's own host table `host`
// with `job` as the handle — logs, progress, metrics, checkpoints and data calls reach SQLite
// exactly as they do from an in-process run — and answers the calls that need a reply. While it
// runs it pushes `job`'s cancel and shutdown flags to the worker as they are raised, and:
//   - a cancel not obeyed within stop_grace gets SIGTERM, then SIGKILL after another stop_grace;
//   - a worker silent for heartbeat_timeout (it sends a heartbeat from its own thread every
//     quarter of it) gets SIGTERM, then SIGKILL after stop_grace.
// It returns when the worker is reaped: with the plugin's result when the worker sent one, else
// with the cause of death ("worker killed by signal 11 (SIGSEGV)"). docs/PLUGINS.md documents
// the channel's messages.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "wb/wb_plugin.h"

namespace wb::daemon {

struct WorkerOptions {
  std::filesystem::path executable;  // wb-worker (worker_executable())
  std::chrono::milliseconds heartbeat_timeout{60000};
  std::chrono::milliseconds stop_grace{10000};
};

struct WorkerOutcome {
  bool reported = false;  // the worker sent the plugin's result: status + message
  wb_status status = WB_ERROR;
  std::string message;
  std::string death;  // !reported: why the worker ended ("worker killed by signal 9 (SIGKILL)")
};

// The job as the worker needs it.
struct WorkerJob {
  std::string plugin_path;  // the .so serving the job's kind
  std::string init_config;  // what the daemon's init() of that plugin got
  std::string kind;
  std::string spec_text;    // spec + job_id (+ resume_from)
  std::string data_dir;
};

// wb-worker next to the running workbenchd (/proc/self/exe's directory), as the build and an
// install both place it.
std::filesystem::path worker_executable();

// Runs `what` in a worker. `job` is the daemon's handle (id, dir, flags); `host` the daemon's
// table. Never throws: a worker that cannot be started is reported as a failed result naming why.
WorkerOutcome run_in_worker(const WorkerOptions& options, const wb_host& host, wb_job& job, const WorkerJob& what);

// Answers one worker message `m` through the daemon's host table (`job` as the handle): reports
// are recorded, a "call" is answered by passing its "reply" frame to `reply_to`, a "result" fills
// `out` and returns true. Used by both carriers (socketpair here, HTTP for Slurm workers).
bool relay(const nlohmann::json& m, const wb_host& host, wb_job& job,
           const std::function<void(const nlohmann::json&)>& reply_to, WorkerOutcome& out);

}  // namespace wb::daemon
