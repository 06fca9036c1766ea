// harness.h — what the cli integration tests use to drive the REAL workbenchd and the REAL wb:
// a private temp dir (TempDir), a daemon on a socket inside it, and wb/arbitrary processes run with their
// stdout, stderr and exit code captured.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "daemon_process.h"  // TempDir, DaemonProcess (tests/daemon)

namespace wbtest {

struct ProcResult {
  int exit_code = -1;  // exit status, or 128 + signal when killed
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with argv, feeding `input` on stdin; `env` entries are added to (or
// replace) the inherited environment. Kills the process and fails the test after `timeout`.
ProcResult run_process(const std::vector<std::string>& argv, const std::string& input = "",
                       const std::map<std::string, std::string>& env = {},
                       std::chrono::seconds timeout = std::chrono::seconds(60));

// workbenchd on <tmp>/wb.sock with data dir <tmp>/data, the given plugin dirs and an empty
// config file (a developer's ~/.config/workbench/workbench.toml cannot leak in), started through
// the daemon tests' DaemonProcess (daemon_process.h). The constructor waits until /v1/health
// answers (or throws with the daemon's log); the destructor stops it like stop().
class Daemon {
 public:
  explicit Daemon(const std::filesystem::path& dir, std::vector<std::string> plugin_dirs = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::string& socket() const { return socket_; }
  // SIGTERM and wait (SIGKILL after 10 s); returns DaemonProcess::terminate's code. Idempotent.
  int stop();
  std::string log() const { return process_.log_text(); }  // the daemon's output so far

 private:
  std::string socket_;
  DaemonProcess process_;
};

// Runs the wb binary with `--socket <socket>` prepended to args.
ProcResult wb(const std::string& socket, const std::vector<std::string>& args,
              const std::string& input = "");

// Path of the wb binary under test (compile definition from tests/cli/CMakeLists.txt).
std::string wb_binary();

// Writes text to a file (creating parent dirs).
void write_file(const std::filesystem::path& p, const std::string& text);
std::string read_file(const std::filesystem::path& p);

}  // namespace wbtest
