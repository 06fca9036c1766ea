// scheduler.h — runs queued jobs, one per compute slot (one slot today), on its own thread.
//
// Loop: claim the next queued job (storage: queued -> running, committed), announce it, find the
// plugin serving its kind (none: the job fails with a clear error), create <data_dir>/jobs/<id>,
// call run() with the spec plus "job_id" (and "resume_from" when a checkpoint is recorded) — in a
// wb-worker process (jobs.isolation = "process", worker_supervisor.h) or on this thread
// ("in_process"), or through Slurm when the spec says launcher = "slurm" (slurm_launcher.h: the
// Slurm job id is recorded in the job row), or as `mpirun -np N` ranks when it says world = N > 1
// (mpi_launcher.h) — then record the outcome:
//   WB_OK -> succeeded   WB_CANCELLED -> cancelled   WB_INTERRUPTED during shutdown -> queued
//   (resumed from its checkpoint by the next daemon)   WB_NO_SPACE -> held (disk full while
//   writing a checkpoint: the last good one is kept; retry() resumes from it)
//   anything else -> failed with the message.
// A worker that dies without a result (signal, non-zero exit, killed for a missed heartbeat, a
// Slurm job that ended without one: scancel, node failure, time limit) is a crash of that run: JobRepository::worker_died() re-queues the job from its checkpoint, holds it
// after two in a row, or fails it at jobs.max_attempts, the reason naming the cause; a worker
// killed after a cancel ends the job cancelled.
// Cancellation is cooperative: cancel() of a queued job cancels it at once; of a running job it
// sets the flag job_cancelled() returns and records cancel_requested.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "jobs/job_events.h"
#include "jobs/worker_mailbox.h"
#include "plugins/plugin_host.h"

struct wb_job;

namespace wb::daemon {

class Scheduler {
 public:
  struct Options {
    int max_attempts = 3;     // config jobs.max_attempts (recover(), worker deaths)
    bool in_process = false;  // jobs.isolation = "in_process"
    std::chrono::milliseconds heartbeat_timeout{60000};  // jobs.heartbeat_timeout_s
    std::chrono::milliseconds stop_grace{10000};         // jobs.stop_grace_s
    std::filesystem::path worker;  // wb-worker; empty: worker_executable()
    std::filesystem::path socket;  // the daemon's Unix socket, which mpirun's ranks reach it by
    std::string mpirun = "mpirun";         // jobs.mpirun
    std::vector<std::string> mpirun_args;  // jobs.mpirun_args
  };
  Scheduler(JobEvents& events, const PluginHost& plugins, std::filesystem::path jobs_root, Options options);
  ~Scheduler();  // shutdown(0s) if still running
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Start-up recovery of jobs left running by a dead daemon (JobRepository::recover_after_crash):
  // the first death resumes the job from its checkpoint, a second in a row holds it for a
  // person, and the max_attempts-th fails it. Call once, before start().
  void recover();
  // Starts the worker thread.
  void start();
  // Where Slurm workers reach the daemon (launcher = "slurm", slurm_launcher.h): the TCP
  // listener's URL and token, set once it listens; empty while there is none. Before start().
  void set_tcp_endpoint(std::string url, std::string token);
  // Frames from Slurm workers (POST /v1/jobs/{id}/worker) go here.
  WorkerMailboxes& mailboxes() { return mailboxes_; }
  // A job was queued: look now instead of at the next poll.
  void wake();
  // User cancel. Throws storage::NotFound / storage::Conflict (already finished).
  storage::JobRecord cancel(std::int64_t id);
  // A person releases a held job: held -> queued, resumed from its checkpoint; `spec`, when given,
  // replaces its spec (another world size). Throws storage::NotFound / storage::Conflict (not held).
  storage::JobRecord retry(std::int64_t id, const std::optional<nlohmann::json>& spec = std::nullopt);
  // Stops claiming, asks the running job to checkpoint (job_shutting_down), waits up to `grace`
  // for it to return. Returns false when the job did not return in time (it is then left
  // running in storage and recovered at the next start).
  bool shutdown(std::chrono::milliseconds grace);

 private:
  void loop();
  void run_one(storage::JobRecord job);
  // The job's worker died without a result (`cause`): re-queued, held or failed (worker_died()).
  void worker_died(std::int64_t id, const std::string& cause);

  JobEvents& events_;
  const PluginHost& plugins_;
  std::filesystem::path jobs_root_;
  Options options_;
  std::string tcp_url_, tcp_token_;
  WorkerMailboxes mailboxes_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  bool idle_ = true;
  wb_job* current_ = nullptr;  // guarded by mu_
  std::thread thread_;
};

}  // namespace wb::daemon
