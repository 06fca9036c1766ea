#include "daemon_process.h"

#include <sys/resource.h>
#include <csignal>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "unix_http.h"

namespace wbtest {
namespace fs = std::filesystem;

fs::path workbenchd_path() { return WB_WORKBENCHD; }
fs::path test_plugin_dir() { return WB_TEST_PLUGIN_DIR; }
fs::path bad_plugin_dir() { return WB_BAD_PLUGIN_DIR; }
fs::path probe_plugin_dir() { return WB_PROBE_PLUGIN_DIR; }
fs::path compat_plugin_dir() { return WB_COMPAT_PLUGIN_DIR; }
fs::path fill_plugin_dir() { return WB_FILL_PLUGIN_DIR; }
fs::path crash_plugin_dir() { return WB_CRASH_PLUGIN_DIR; }

std::vector<std::string> config_args(const fs::path& dir, const std::string& toml) {
  if (toml.empty()) return {};
  const fs::path cfg = dir / "workbench.toml";
  std::ofstream(cfg) << toml;
  return {"--config", cfg.string()};
}

bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() > end) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

DaemonProcess::DaemonProcess(fs::path data_dir, fs::path socket, std::vector<fs::path> plugin_dirs,
                             std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), socket_(std::move(socket)), plugin_dirs_(std::move(plugin_dirs)),
      extra_(std::move(extra_args)) {}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) kill9();
}

void DaemonProcess::spawn() {
  static std::atomic<int> counter{0};
  log_ = data_dir_.parent_path() / ("daemon-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".log");
  std::vector<std::string> args = {workbenchd_path().string(), "--data-dir", data_dir_.string(), "--socket",
                                   socket_.string()};
  if (plugin_dirs_.empty()) plugin_dirs_.push_back(data_dir_.parent_path() / "no-plugins");
  for (auto& d : plugin_dirs_) {
    args.push_back("--plugin-dir");
    args.push_back(d.string());
  }
  for (auto& e : extra_) args.push_back(e);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::unsetenv("WB_CONFIG");
    if (file_size_limit_ > 0) {
      ::signal(SIGXFSZ, SIG_IGN);  // stays ignored across exec: writes fail with EFBIG instead
      struct rlimit rl{file_size_limit_, file_size_limit_};
      ::setrlimit(RLIMIT_FSIZE, &rl);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
}

void DaemonProcess::start(std::chrono::milliseconds timeout) {
  spawn();
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("workbenchd exited during start-up: " + log_text());
    }
    try {
      if (http(socket_.string(), "GET", "/v1/health").status == 200) return;
    } catch (const std::exception&) {
    }
    if (std::chrono::steady_clock::now() > end) throw std::runtime_error("workbenchd did not answer in time: " + log_text());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int DaemonProcess::wait_for_exit(std::chrono::milliseconds timeout) { return wait_exit(timeout); }

int DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      if (WIFEXITED(st)) return WEXITSTATUS(st);
      if (WIFSIGNALED(st)) return -WTERMSIG(st);
      return -999;
    }
    if (std::chrono::steady_clock::now() > end) return -1000;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int DaemonProcess::run_expecting_exit(std::chrono::milliseconds timeout) {
  spawn();
  int rc = wait_exit(timeout);
  if (rc == -1000) kill9();
  return rc;
}

int DaemonProcess::terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int rc = wait_exit(timeout);
  if (rc == -1000) kill9();
  return rc;
}

void DaemonProcess::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int st = 0;
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
}

std::string DaemonProcess::log_text() const {
  std::ifstream in(log_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace wbtest
