#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace wbtest {

namespace fs = std::filesystem;

namespace {

// RAII for a pipe's two ends.
struct Pipe {
  int fd[2] = {-1, -1};
  Pipe() {
    if (::pipe2(fd, O_CLOEXEC) != 0) throw std::runtime_error("pipe: " + std::string(std::strerror(errno)));
  }
  ~Pipe() {
    close_end(0);
    close_end(1);
  }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
};

std::vector<std::string> merged_env(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> all;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string::npos) all[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : extra) all[k] = v;
  std::vector<std::string> out;
  for (auto& [k, v] : all) out.push_back(k + "=" + v);
  return out;
}

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

ProcResult run_process(const std::vector<std::string>& argv, const std::string& input,
                       const std::map<std::string, std::string>& env, std::chrono::seconds timeout) {
  Pipe in, out, err;
  std::vector<std::string> args = argv;
  std::vector<std::string> envs = merged_env(env);
  auto c_args = c_array(args);
  auto c_env = c_array(envs);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
  if (pid == 0) {
    ::dup2(in.fd[0], 0);
    ::dup2(out.fd[1], 1);
    ::dup2(err.fd[1], 2);
    ::execve(c_args[0], c_args.data(), c_env.data());
    ::_exit(127);
  }
  in.close_end(0);
  out.close_end(1);
  err.close_end(1);
  // Feed stdin from a thread so a large input cannot deadlock against full output pipes.
  std::thread feeder([&in, &input] {
    std::size_t off = 0;
    while (off < input.size()) {
      ssize_t n = ::write(in.fd[1], input.data() + off, input.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    in.close_end(1);
  });
  ProcResult r;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    int n = ::poll(fds, 2, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t k = ::read(fds[i].fd, buf, sizeof buf);
      if (k > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(k));
      } else {
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  feeder.join();
  r.exit_code = decode_status(status);
  if (timed_out) throw std::runtime_error("process timed out: " + argv[0] + "\nstdout: " + r.out + "\nstderr: " + r.err);
  return r;
}

namespace {
std::vector<fs::path> created_plugin_dirs(const fs::path& dir, const std::vector<std::string>& given) {
  std::vector<fs::path> out;
  for (auto& p : given) out.emplace_back(p);
  if (out.empty()) out.push_back(dir / "no-plugins");
  for (auto& p : out) fs::create_directories(p);
  return out;
}
}  // namespace

Daemon::Daemon(const fs::path& dir, std::vector<std::string> plugin_dirs)
    : socket_((dir / "wb.sock").string()),
      process_(dir / "data", dir / "wb.sock", created_plugin_dirs(dir, plugin_dirs),
               {"--config", (dir / "workbench.toml").string(), "--log-level", "debug"}) {
  write_file(dir / "workbench.toml", "");
  process_.start();
}

Daemon::~Daemon() { stop(); }

int Daemon::stop() {
  if (!process_.running()) return -1;
  return process_.terminate(std::chrono::seconds(10));
}

ProcResult wb(const std::string& socket, const std::vector<std::string>& args, const std::string& input) {
  std::vector<std::string> argv = {wb_binary(), "--socket", socket};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, input);
}

std::string wb_binary() { return WB_CLI_BINARY; }

void write_file(const fs::path& p, const std::string& text) {
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + p.string());
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace wbtest
