// mpi_launcher.h — runs a data-parallel job (spec world = N > 1, launcher local) as N MPI ranks
// on this machine: `mpirun -np N --oversubscribe <jobs.mpirun_args> wb-worker --daemon-socket
// <the daemon's Unix socket> --job ID --run RUN`.
//
// mpirun's ranks do not inherit a socketpair, so each reaches the daemon the way a Slurm worker
// does, with the HTTP worker frames (POST /v1/jobs/{id}/worker?run=RUN&rank=R), over the daemon's
// own Unix socket (no token: only the daemon's user reaches it; the run token keeps a stale worker
// out). Every rank says hello and gets the start message, and may read data (lookup,
// dataset_rows); only rank 0 records: the logs, progress, metrics of ranks > 0 are dropped here,
// their checkpoint / register_artifact / comparison_insert calls are refused, and the job's result
// is rank 0's (a rank > 0 that fails has its message logged once).
//
// Supervision is one worker's: a cancel or a daemon shutdown reaches every rank in the answers to
// its frames (the plugin agrees on rank 0's flags, so all ranks stop at the same step); ranks
// still running stop_grace after a cancel get SIGTERM through mpirun, SIGKILL after another
// stop_grace; a rank silent for heartbeat_timeout has the same; mpirun dies with the daemon
// (PR_SET_PDEATHSIG; the ranks die with mpirun). mpirun's own output (and the ranks' stderr) goes
// to <job dir>/mpirun.log. Without rank 0's result the run is a crash whose cause names what
// mpirun said ("mpirun exited with status 137: ... rank 1 ... exited on signal 9").
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "jobs/worker_mailbox.h"
#include "jobs/worker_supervisor.h"

namespace wb::daemon {

struct MpiOptions {
  std::filesystem::path worker;   // wb-worker
  std::string mpirun = "mpirun";  // jobs.mpirun: a name on PATH or a path
  std::vector<std::string> mpirun_args;  // jobs.mpirun_args
  std::filesystem::path socket;   // the daemon's Unix socket
  std::chrono::milliseconds heartbeat_timeout{60000};
  std::chrono::milliseconds stop_grace{10000};
};

// The command line of one run (argv[0] = mpirun).
std::vector<std::string> mpirun_command(const MpiOptions& options, int world, std::int64_t job_id,
                                        const std::string& run);

WorkerOutcome run_in_mpirun(const MpiOptions& options, int world, const wb_host& host, wb_job& job,
                            const WorkerJob& what, WorkerMailboxes& mailboxes);

}  // namespace wb::daemon
