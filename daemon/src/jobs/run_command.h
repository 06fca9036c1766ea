// run_command.h — runs a program (no shell) and collects what it prints, for the Slurm client
// commands the daemon calls (sbatch, squeue, scancel, sacct, scontrol).
#pragma once

#include <string>
#include <vector>

namespace wb::daemon {

struct CommandResult {
  int exit_code = -1;  // -1: it could not be started or was killed by a signal
  std::string output;  // stdout and stderr together
};

// Runs argv[0] (looked up in PATH) with the daemon's environment; the child gets no descriptor
// of the daemon's beyond stdin (/dev/null), stdout and stderr (a pipe). Never throws; a program
// that cannot be started gives exit_code -1 and the reason in output.
CommandResult run_command(const std::vector<std::string>& argv);

// Whether `program` is an executable file in PATH.
bool on_path(const std::string& program);

}  // namespace wb::daemon
