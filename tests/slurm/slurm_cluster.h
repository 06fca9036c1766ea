// slurm_cluster.h — a real single-node Slurm (Debian's slurm-wlm) in a temp dir, for tests.
//
//   SlurmCluster c;          // skips the test (exit 77) when slurmctld/slurmd/munged are missing
//   c.run("squeue -h");      // a client command with SLURM_CONF set; its output
// The constructor writes a munge key (1024 random bytes, 0400, in a 0700 dir) and a slurm.conf
// (this host as the one node, NodeAddr 127.0.0.1, 2 CPUs, partition "debug" with OverSubscribe,
// free ports, accounting off, proctrack/linuxproc, task/none), starts munged, slurmctld -D and
// slurmd -D, waits until sinfo shows the node idle, and exports SLURM_CONF to this process (so a
// workbenchd started afterwards submits to this cluster). The destructor stops all three
// (SIGTERM, then SIGKILL) and unsets SLURM_CONF. Runs as root, as in CI's container.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "wb_temp_dir.h"

namespace wbtest {

// A loopback TCP port nobody listens on now (the OS picks it).
int free_tcp_port();

class SlurmCluster {
 public:
  SlurmCluster();
  ~SlurmCluster();
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  const std::filesystem::path& conf() const { return conf_; }
  const char* partition() const { return "debug"; }
  // Runs `command_line` through /bin/sh with SLURM_CONF set; stdout and stderr together.
  std::string run(const std::string& command_line) const;
  // The state squeue (then scontrol) reports for Slurm job `id` ("RUNNING", "CANCELLED", ...).
  std::string job_state(const std::string& id) const;

 private:
  pid_t spawn(const std::vector<std::string>& argv, const std::string& log);
  void stop_all();

  TempDir dir_{"slurm"};
  std::filesystem::path conf_;
  std::vector<pid_t> pids_;  // munged, slurmctld, slurmd: stopped in reverse order
};

}  // namespace wbtest
