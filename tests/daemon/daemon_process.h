// daemon_process.h — starts the real workbenchd binary for integration tests.
//
//   TempDir tmp;                                   // /tmp/wb-XXXXXX, removed at scope end
//   DaemonProcess d(tmp.path() / "data", tmp.path() / "run/wb.sock", {test_plugin_dir()});
//   d.start();                                     // waits until /v1/health answers
//   ... UnixHttp c(d.socket()); ...
//   int code = d.terminate();                      // SIGTERM, waits, returns the exit code
//
// The daemon's stderr goes to <tmp>/daemon-N.log (log_text() reads it).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <filesystem>
#include <string>
#include <vector>

#include "wb_temp_dir.h"  // wbtest::TempDir (tests/common)

namespace wbtest {

// Paths baked in by tests/daemon/CMakeLists.txt.
std::filesystem::path workbenchd_path();
std::filesystem::path test_plugin_dir();     // sleeper
std::filesystem::path bad_plugin_dir();      // bad_abi, failing_init
std::filesystem::path probe_plugin_dir();    // host_probe
std::filesystem::path compat_plugin_dir();   // short_struct (ABI 3 plugin with a short wb_plugin)
std::filesystem::path fill_plugin_dir();     // filler (ABI 3: growing checkpoints, estimate)
std::filesystem::path crash_plugin_dir();    // crasher (ABI 3: jobs that segfault, get killed, hang)

class DaemonProcess {
 public:
  DaemonProcess(std::filesystem::path data_dir, std::filesystem::path socket,
                std::vector<std::filesystem::path> plugin_dirs, std::vector<std::string> extra_args = {});
  ~DaemonProcess();  // SIGKILLs a daemon still running
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Spawns the daemon and waits (up to `timeout`) for /v1/health; throws if it exits or times out.
  void start(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Spawns the daemon and waits for it to exit on its own; returns the exit code.
  int run_expecting_exit(std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // SIGTERM, then waits up to `timeout`; returns the exit code (-signal when killed, -1000 on timeout).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(40));
  // SIGKILL and reap.
  void kill9();
  // Waits up to `timeout` for the daemon to exit on its own (it crashed, or was asked to);
  // returns the exit code (-signal when killed by one, -1000 on timeout, the daemon left running).
  int wait_for_exit(std::chrono::milliseconds timeout);

  // From the next start on, the daemon runs with RLIMIT_FSIZE = `bytes` (0: no limit) and SIGXFSZ
  // ignored, so a write past `bytes` fails with EFBIG as a full disk fails with ENOSPC.
  void limit_file_size(std::uint64_t bytes) { file_size_limit_ = bytes; }

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& socket() const { return socket_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  std::string log_text() const;

 private:
  void spawn();
  int wait_exit(std::chrono::milliseconds timeout);

  std::filesystem::path data_dir_, socket_;
  std::vector<std::filesystem::path> plugin_dirs_;
  std::vector<std::string> extra_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::uint64_t file_size_limit_ = 0;
};

// Writes `toml` to <dir>/workbench.toml and returns the daemon arguments that load it
// ({"--config", path}); an empty `toml` writes nothing and returns no arguments.
std::vector<std::string> config_args(const std::filesystem::path& dir, const std::string& toml);

// Polls `pred` every 10 ms until it returns true or `timeout` passes; returns the last result.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout);

}  // namespace wbtest
