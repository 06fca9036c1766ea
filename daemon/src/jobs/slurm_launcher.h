// slurm_launcher.h — runs one job's worker through Slurm (spec launcher = "slurm").
//
// The spec fields the daemon reads itself (take_launch_fields) — the plugin never sees them:
//   launcher       "local" (default: a wb-worker on this machine) | "slurm"
//   partition      Slurm partition (required with slurm)
//   nodes          nodes to allocate, 1 (a job kind runs on one rank)
//   gpus_per_node  GPUs per node, >= 0 (default 0: none requested)
//   time_limit     sbatch --time: minutes (30) or a Slurm time string ("1-00:00:00"); optional
//   account        sbatch --account (optional)
//   world          ranks of a data-parallel run, an integer >= 1 (default 1). world > 1 runs the
//                  job as `mpirun -np N wb-worker ...` on this machine (mpi_launcher.h); it stays
//                  in the spec the plugin sees (the plugin builds its collectives from it), a
//                  world of 1 is removed.
// run_in_slurm() writes <job dir>/worker.token (the daemon's tcp.token, mode 0600) and
// <job dir>/slurm.sbatch, which runs `srun wb-worker --daemon-url ... --token-file ...`, submits
// it with `sbatch --parsable`, reports the Slurm job id through `submitted`, and then serves the
// worker's frames from its mailbox (worker_mailbox.h) exactly as run_in_worker() serves a local
// worker's (relay()). It follows the Slurm job with `squeue` (once it has left the queue: `sacct`,
// else `scontrol show job`) and returns:
//   the worker's result when it sent one;
//   else the death "Slurm job 12 ended CANCELLED without the job's result" (scancel behind the
//   daemon's back, a node failure, a time limit, ...), which the scheduler treats as a crash.
// A cancel of the job is a `scancel` at once; a worker silent for heartbeat_timeout while Slurm
// says RUNNING is scancel'ed; a daemon shutdown asks the worker to checkpoint ("shutdown") and a
// job still pending in Slurm is scancel'ed and reported WB_INTERRUPTED (queued again for the next
// daemon).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "jobs/worker_mailbox.h"
#include "jobs/worker_supervisor.h"

namespace wb::daemon {

struct SlurmSpec {
  std::string partition;
  int nodes = 1;
  int gpus_per_node = 0;
  std::string time_limit;
  std::string account;
};

struct LaunchSpec {
  bool slurm = false;  // launcher = "slurm"
  int world = 1;       // ranks (mpirun -np) of a data-parallel job
  SlurmSpec slurm_spec;
};

// Removes the launcher fields from `spec` and returns them, validated. Throws
// std::invalid_argument naming the field ("field 'spec.nodes': expected an integer >= 1").
LaunchSpec take_launch_fields(nlohmann::json& spec);

struct SlurmOptions {
  std::filesystem::path worker;  // wb-worker, as the Slurm nodes see it (a shared install)
  std::string daemon_url;        // "http://127.0.0.1:11435": the daemon's TCP listener
  std::string token;             // tcp.token
  std::chrono::milliseconds heartbeat_timeout{60000};
  std::chrono::milliseconds stop_grace{10000};
  std::chrono::milliseconds poll{1000};  // how often squeue is asked
};

// The batch script for one submission of `job_id` (run token `run`), as written to slurm.sbatch.
std::string slurm_batch_script(const SlurmOptions& options, const SlurmSpec& spec, std::int64_t job_id,
                               const std::string& job_dir, const std::string& run);

WorkerOutcome run_in_slurm(const SlurmOptions& options, const SlurmSpec& spec, const wb_host& host, wb_job& job,
                           const WorkerJob& what, WorkerMailboxes& mailboxes,
                           const std::function<void(const std::string&)>& submitted);

}  // namespace wb::daemon
