// harness.h — what the cli integration tests use to drive the REAL workbenchd and the REAL wb:
// a private temp dir, a daemon on a socket inside it, and wb/arbitrary processes run with their
// stdout, stderr and exit code captured.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace wbtest {

// A fresh directory under /tmp (short: socket paths are limited to 107 bytes), removed with
// everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

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

// workbenchd on <tmp>/wb.sock with data dir <tmp>/data and the given plugin dirs. The
// constructor waits until the socket accepts connections (or fails the test with the daemon's
// log); the destructor sends SIGTERM and waits (SIGKILL after 10 s).
class Daemon {
 public:
  explicit Daemon(const std::filesystem::path& dir, std::vector<std::string> plugin_dirs = {});
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::string& socket() const { return socket_; }
  // SIGTERM and wait (SIGKILL after 10 s); returns the exit code. Idempotent.
  int stop();
  std::string log() const;  // what the daemon wrote to stderr so far

 private:
  std::string socket_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
};

// Runs the wb binary with `--socket <socket>` prepended to args.
ProcResult wb(const std::string& socket, const std::vector<std::string>& args,
              const std::string& input = "");

// Paths of the binaries under test (compile definitions from tests/cli/CMakeLists.txt).
std::string wb_binary();
std::string daemon_binary();

// Writes text to a file (creating parent dirs).
void write_file(const std::filesystem::path& p, const std::string& text);
std::string read_file(const std::filesystem::path& p);

}  // namespace wbtest
