// wb/storage/jobs.h — the job queue (table `jobs`). Thread-safe; every transition is one
// transaction, committed before the method returns (so it may be announced afterwards).
//
// State machine:
//   queued  -> running                         claim_next() / start()
//   running -> succeeded | failed | cancelled  finish()
//   running -> queued                          requeue()   (attempts += 1; checkpoint kept)
//   queued  -> cancelled                       cancel()    (a queued job is cancelled at once)
//   running -> held                            hold()      (needs a person: disk full, crash loop)
//   held    -> queued | cancelled              retry() / cancel()
//   running -> queued | held | failed          recover_after_crash() (the daemon died under it)
//   running -> queued | held | failed          worker_died() (the job's worker process died)
// Anything else throws Conflict ("job 7: cannot go from succeeded to running"). An unknown id
// throws NotFound.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wb/storage/records.h"

namespace wb::storage {

class Connection;

class JobRepository {
 public:
  explicit JobRepository(Connection& conn) : conn_(conn) {}

  // New job in state queued. kind must be non-empty; spec must be a JSON object (Invalid).
  JobRecord create(std::string_view kind, const nlohmann::json& spec, int priority = 0);
  JobRecord get(std::int64_t id);  // NotFound
  std::optional<JobRecord> find(std::int64_t id);
  // Newest first (highest id first); state nullopt = all states; limit <= 0 means no limit.
  std::vector<JobRecord> list(std::optional<JobState> state = std::nullopt, std::int64_t limit = 100);
  // Number of jobs in each state (every state present, zero included).
  std::map<JobState, std::int64_t> counts();

  // Atomically moves the queued job with the highest priority (oldest first among equals) to
  // running, stamping `started`, and returns it; nullopt when nothing is queued. When `kinds` is
  // non-empty only jobs of those kinds are considered. Each queued job is handed out once, even
  // when many threads (or processes) claim at the same time.
  std::optional<JobRecord> claim_next(const std::vector<std::string>& kinds = {});
  // queued -> running for a specific job.
  JobRecord start(std::int64_t id);
  // running -> succeeded | failed | cancelled; stamps `finished`; error is stored as given
  // (normally set for failed). `to` must be final (Invalid otherwise).
  JobRecord finish(std::int64_t id, JobState to, std::optional<std::string> error = std::nullopt);
  // running -> queued: attempts += 1, progress/checkpoint kept, cancel_requested cleared.
  JobRecord requeue(std::int64_t id);
  // User cancel: queued -> cancelled at once; running -> cancel_requested = true (the runner
  // finishes it as cancelled); a final job throws Conflict ("job 7 already finished (succeeded)").
  JobRecord cancel(std::int64_t id);
  bool cancel_requested(std::int64_t id);  // NotFound

  // Progress in [0,1] (Invalid otherwise) and a short phase word; only while running (Conflict).
  void set_progress(std::int64_t id, double progress, std::string_view phase);
  // Path of the latest complete checkpoint (non-empty); kept across requeue and recovery.
  void set_checkpoint(std::int64_t id, std::string_view path);

  // The Slurm job id of the job's current run (launcher = "slurm"), set after each sbatch.
  void set_slurm_job_id(std::int64_t id, std::string_view slurm_id);

  // running -> held with `reason` (stored in `error`, non-empty): the job keeps its checkpoint and
  // waits for a person (retry() or cancel()). attempts += 1.
  JobRecord hold(std::int64_t id, std::string_view reason);
  // held -> queued (error cleared): the next run resumes from the checkpoint. Any other state
  // throws Conflict ("job 7 is failed; only a held job can be retried"). `spec`, when given (an
  // object), replaces the job's spec in the same transaction (a person changing its world size).
  JobRecord retry(std::int64_t id, const std::optional<nlohmann::json>& spec = std::nullopt);

  // Start-up recovery of every running job (the daemon died under it; crashes += 1), keeping its
  // checkpoint and progress:
  //   cancel requested                    -> cancelled
  //   crashes reaches max_attempts        -> failed, the reason in `error`
  //   it was already resuming after one   -> held, the reason in `error` (attempts += 1)
  //   otherwise                           -> queued, resumed_after_crash set (attempts += 1)
  // A run that ends otherwise (requeue at shutdown, hold, retry) clears resumed_after_crash.
  // Returns the jobs changed (as they are now), by id.
  std::vector<JobRecord> recover_after_crash(int max_attempts = 3);
  // The same rule for one running job whose worker process died (signal, non-zero exit, killed
  // for a missed heartbeat); `cause` ("worker killed by signal 11 (SIGSEGV)") begins the stored
  // error of a held or failed job. Conflict unless the job is running.
  JobRecord worker_died(std::int64_t id, std::string_view cause, int max_attempts = 3);

 private:
  Connection& conn_;
};

}  // namespace wb::storage
