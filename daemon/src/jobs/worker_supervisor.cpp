#include "jobs/worker_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "jobs/job_context.h"
#include "worker/channel.h"

namespace wb::daemon {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using worker::Channel;
using worker::ChannelError;

fs::path worker_executable() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "wb-worker";
  return self.parent_path() / "wb-worker";
}

namespace {

// "SIGSEGV" for 11 (the abbreviation glibc knows, else the number alone).
std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(sig);
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "worker killed by signal " + std::to_string(sig) + " (" + signal_name(sig) + ")";
  }
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 0) return "worker exited without reporting the job's result";
    return "worker exited with status " + std::to_string(WEXITSTATUS(status));
  }
  return "worker ended with wait status " + std::to_string(status);
}

// The worker process: SIGKILLed and reaped if still running when this goes away.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int st;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  pid_t pid() const { return pid_; }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  // Reaps the child if it has exited; returns its wait status.
  std::optional<int> try_reap() {
    if (pid_ <= 0) return status_;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      status_ = st;
    }
    return status_;
  }

 private:
  pid_t pid_;
  std::optional<int> status_;
};

// Frames read on their own thread, so a worker that stops mid-frame never blocks the supervisor.
class Inbox {
 public:
  explicit Inbox(Channel& ch) : thread_([this, &ch] { read(ch); }) {}
  ~Inbox() { thread_.join(); }  // the channel is shut down (or the worker reaped) before this
  // Waits up to `d` for a message; nullopt when none arrived (closed() says whether any will).
  std::optional<json> next(std::chrono::milliseconds d) {
    std::unique_lock<std::mutex> lk(mu_);
    cv_.wait_for(lk, d, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return std::nullopt;
    json m = std::move(q_.front());
    q_.pop_front();
    return m;
  }
  bool closed() {
    std::lock_guard<std::mutex> lk(mu_);
    return closed_ && q_.empty();
  }
  std::string error() {
    std::lock_guard<std::mutex> lk(mu_);
    return error_;
  }

 private:
  void read(Channel& ch) {
    std::string err;
    for (;;) {
      std::optional<json> m;
      try {
        m = ch.receive();
      } catch (const std::exception& e) {
        err = e.what();
      }
      std::lock_guard<std::mutex> lk(mu_);
      if (!m) {
        closed_ = true;
        error_ = err;
        cv_.notify_all();
        return;
      }
      q_.push_back(std::move(*m));
      cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<json> q_;
  bool closed_ = false;
  std::string error_;
  std::thread thread_;
};

wb_log_level parse_level(const std::string& s) {
  if (s == "debug") return WB_LOG_DEBUG;
  if (s == "warn") return WB_LOG_WARN;
  if (s == "error") return WB_LOG_ERROR;
  return WB_LOG_INFO;
}

// Forks and execs wb-worker with `child_fd` as its fd 3. Everything the child runs before exec
// is async-signal-safe (the daemon has other threads).
pid_t spawn(const fs::path& exe, int child_fd, std::string& error) {
  const std::string path = exe.string();
  std::vector<std::string> args = {path, "--channel-fd", "3"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork failed: ") + std::strerror(errno);
    return -1;
  }
  if (pid == 0) {
    // The worker dies with the daemon (a dead daemon cannot record anything it does).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    if (child_fd == 3) {
      ::fcntl(3, F_SETFD, 0);
    } else if (::dup2(child_fd, 3) < 0) {
      ::_exit(127);
    }
    ::syscall(SYS_close_range, 4u, ~0u, 0u);  // nothing else of the daemon's (sockets, the lock)
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(path.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

bool relay(const json& m, const wb_host& host, wb_job& job, const std::function<void(const json&)>& reply_to,
           WorkerOutcome& out) {
  void* ctx = host.ctx;
  const std::string type = m.value("type", "");
  if (type == "heartbeat") return false;
  if (type == "log") {
    host.job_log(ctx, &job, parse_level(m.value("level", "info")), m.value("message", "").c_str());
  } else if (type == "daemon_log") {
    host.log(ctx, parse_level(m.value("level", "info")), m.value("message", "").c_str());
  } else if (type == "progress") {
    host.job_progress(ctx, &job, m.value("fraction", 0.0), m.value("phase", "").c_str());
  } else if (type == "metric") {
    // NaN and infinity travel as JSON null.
    const json& v = m.contains("value") ? m["value"] : json();
    const double value = v.is_number() ? v.get<double>() : std::numeric_limits<double>::quiet_NaN();
    host.job_metric(ctx, &job, m.value("step", std::int64_t(0)), m.value("name", "").c_str(), value);
  } else if (type == "result") {
    out.reported = true;
    out.status = static_cast<wb_status>(m.value("status", int(WB_ERROR)));
    out.message = m.value("message", "");
    return true;
  } else if (type == "call") {
    const std::string fn = m.value("fn", "");
    wb_error err{};
    wb_status st = WB_ERROR;
    json result;
    auto s = [&](const char* key) { return m.value(key, ""); };
    if (fn == "checkpoint") {
      st = host.job_checkpoint(ctx, &job, s("path").c_str(), &err);
    } else if (fn == "lookup") {
      std::string text;
      auto emit = [](void* user, const char* t) { *static_cast<std::string*>(user) = t ? t : ""; };
      st = host.lookup(ctx, &job, s("kind").c_str(), s("name").c_str(), emit, &text, &err);
      result = text;
    } else if (fn == "dataset_rows") {
      json rows = json::array();
      auto row = [](void* user, int64_t index, const char* text) {
        static_cast<json*>(user)->push_back(json::array({index, text ? text : ""}));
        return 0;
      };
      const bool has_split = m.contains("split") && m["split"].is_string();
      const std::string split = has_split ? m["split"].get<std::string>() : "";
      st = host.dataset_rows(ctx, &job, s("dataset").c_str(), has_split ? split.c_str() : nullptr,
                             m.value("offset", std::int64_t(0)), m.value("limit", std::int64_t(0)), row, &rows, &err);
      result = std::move(rows);
    } else if (fn == "comparison_insert") {
      st = host.comparison_insert(ctx, &job, s("dataset").c_str(), s("comparison").c_str(), &err);
    } else if (fn == "register_artifact") {
      st = host.register_artifact(ctx, &job, s("kind").c_str(), s("artifact").c_str(), &err);
    } else {
      st = WB_INVALID;
      wb_error_set(&err, ("unknown host call '" + fn + "'").c_str());
    }
    err.message[WB_ERROR_CAPACITY - 1] = 0;
    json reply = {{"type", "reply"}, {"id", m.value("id", std::int64_t(0))}, {"status", int(st)}, {"message", err.message}};
    if (!result.is_null()) reply["result"] = std::move(result);
    reply_to(reply);
  } else {
    spdlog::warn("job {}: worker sent an unknown message type '{}'", job.id, type);
  }
  return false;
}

WorkerOutcome run_in_worker(const WorkerOptions& opt, const wb_host& host, wb_job& job, const WorkerJob& what) {
  WorkerOutcome out;
  auto start_failed = [&](const std::string& why) {
    out.reported = true;
    out.status = WB_ERROR;
    out.message = "cannot start the job's worker process: " + why;
    return out;
  };
  std::error_code ec;
  if (!fs::is_regular_file(opt.executable, ec) || ::access(opt.executable.c_str(), X_OK) != 0)
    return start_failed(opt.executable.string() + " is missing or not executable (wb-worker is installed next to "
                        "workbenchd; jobs.isolation = \"in_process\" runs jobs without it)");
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return start_failed(std::string("socketpair failed: ") + std::strerror(errno));
  Channel ch(sv[0]);
  std::string err;
  pid_t pid = spawn(opt.executable, sv[1], err);
  ::close(sv[1]);
  if (pid < 0) return start_failed(err);
  Child child(pid);
  const auto beat = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(50), opt.heartbeat_timeout / 4);
  try {
    ch.send({{"type", "start"},
             {"job_id", job.id},
             {"kind", what.kind},
             {"dir", job.dir},
             {"data_dir", what.data_dir},
             {"plugin", what.plugin_path},
             {"init_config", what.init_config},
             {"spec", what.spec_text},
             {"heartbeat_ms", beat.count()},
             {"cancelled", job.cancel_requested.load()},
             {"shutting_down", job.shutting_down.load()}});
  } catch (const ChannelError&) {
    // The worker is already gone: its exit status below says why.
  }
  spdlog::info("job {} runs in worker process {}", job.id, pid);

  Inbox inbox(ch);
  Clock::time_point last_seen = Clock::now();
  bool cancel_sent = job.cancel_requested.load(), shutdown_sent = job.shutting_down.load();
  constexpr Clock::time_point kNever = Clock::time_point::max();
  Clock::time_point term_at = kNever, kill_at = kNever;  // when to send SIGTERM, SIGKILL
  if (cancel_sent) term_at = Clock::now() + opt.stop_grace;
  std::string stopped_for;  // why the daemon killed it, when it did
  auto send = [&](const json& m) {
    try {
      ch.send(m);
    } catch (const ChannelError&) {
    }
  };
  for (;;) {  // until the result arrives or the channel closes
    if (auto m = inbox.next(std::chrono::milliseconds(50))) {
      last_seen = Clock::now();
      bool result = false;
      try {
        result = relay(*m, host, job, [&ch](const json& r) { ch.send(r); }, out);
      } catch (const std::exception& e) {
        spdlog::warn("job {}: relaying a worker message failed: {}", job.id, e.what());
      }
      if (result) break;
    } else if (inbox.closed()) {
      break;
    }
    // Looked at after every message too: a chatty worker must still see its cancel.
    const auto now = Clock::now();
    if (job.cancel_requested.load() && !cancel_sent) {
      cancel_sent = true;
      send({{"type", "cancel"}});
      term_at = now + opt.stop_grace;
    }
    if (job.shutting_down.load() && !shutdown_sent) {
      shutdown_sent = true;
      send({{"type", "shutdown"}});
    }
    if (now >= term_at) {
      term_at = kNever;
      if (stopped_for.empty()) stopped_for = "did not stop within jobs.stop_grace_s of the cancel";
      spdlog::warn("job {}: worker {} {}; sending SIGTERM", job.id, pid, stopped_for);
      child.signal(SIGTERM);
      kill_at = now + opt.stop_grace;
    }
    if (now >= kill_at) {
      kill_at = kNever;
      spdlog::warn("job {}: worker {} still running after SIGTERM; sending SIGKILL", job.id, pid);
      child.signal(SIGKILL);
    }
    if (stopped_for.empty() && now - last_seen > opt.heartbeat_timeout) {
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(opt.heartbeat_timeout).count();
      stopped_for = fmt::format("sent no heartbeat for {:g} s (jobs.heartbeat_timeout_s)", ms / 1000.0);
      term_at = now;  // SIGTERM now, SIGKILL after stop_grace
    }
  }
  // The worker exits after its result (or has died): reap it, forcing it after stop_grace.
  auto reap_by = Clock::now() + opt.stop_grace;
  std::optional<int> status;
  bool forced = false;
  while (!(status = child.try_reap())) {
    if (!forced && Clock::now() >= reap_by) {
      forced = true;
      child.signal(SIGKILL);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::shutdown(ch.fd(), SHUT_RDWR);  // ends the reader thread (Inbox) if it still reads
  if (!out.reported) {
    out.death = describe_exit(*status);
    if (!stopped_for.empty()) out.death = "worker " + stopped_for + "; stopped: " + out.death;
    const std::string why = inbox.error();
    if (!why.empty()) out.death += " (" + why + ")";
  }
  return out;
}

}  // namespace wb::daemon
