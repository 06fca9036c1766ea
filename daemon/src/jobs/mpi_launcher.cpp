#include "jobs/mpi_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include "jobs/job_context.h"

extern char** environ;

namespace wb::daemon {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

std::string random_run() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) s += hex[rd() % 16];
  return s;
}

// `name` as execv needs it: itself when it holds a '/', else the first executable on PATH.
std::string resolve(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) return "mpirun killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) {
    if (WEXITSTATUS(status) == 0) return "mpirun exited without rank 0 reporting the job's result";
    return "mpirun exited with status " + std::to_string(WEXITSTATUS(status));
  }
  return "mpirun ended with wait status " + std::to_string(status);
}

// What mpirun said about the ranks since `from` in its log: its lines naming a rank ("mpirun
// noticed that process rank 1 with PID 0 on node x exited on signal 9 (Killed).").
std::string what_mpirun_said(const fs::path& log, std::streamoff from) {
  std::ifstream in(log);
  if (!in) return "";
  in.seekg(from);
  std::string line, said;
  while (std::getline(in, line))
    if (line.find("noticed that process rank") != std::string::npos ||
        line.find("exited on signal") != std::string::npos) {
      said = line;
      break;
    }
  while (!said.empty() && (said.back() == '\r' || said.back() == ' ')) said.pop_back();
  return said;
}

// mpirun, in a process group of its own (its ranks with it), killed with the group and reaped if
// still running when this goes away.
class MpirunProcess {
 public:
  explicit MpirunProcess(pid_t pid) : pid_(pid) {}
  ~MpirunProcess() {
    if (pid_ > 0) {
      signal(SIGKILL);
      int st;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
    }
  }
  MpirunProcess(const MpirunProcess&) = delete;
  MpirunProcess& operator=(const MpirunProcess&) = delete;
  // To mpirun and its process group. OpenMPI gives each rank a group of its own: mpirun
  // forwards SIGTERM to them, and a SIGKILLed mpirun takes them along by their
  // PR_SET_PDEATHSIG (wb-worker sets it).
  void signal(int sig) const {
    if (pid_ <= 0) return;
    ::kill(-pid_, sig);
    ::kill(pid_, sig);
  }
  std::optional<int> try_reap() {
    int st = 0;
    if (pid_ > 0 && ::waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      status_ = st;
    }
    if (pid_ > 0) return std::nullopt;
    return status_;
  }

 private:
  pid_t pid_;
  int status_ = 0;  // the wait status, once reaped (pid_ = -1)
};

// Forks and execs `argv` (argv[0] a full path) with stdout and stderr on `log_fd`, stdin on
// /dev/null and `env`. Only async-signal-safe calls before exec.
pid_t spawn(std::vector<std::string> args, std::vector<std::string> env, int log_fd, std::string& error) {
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork failed: ") + std::strerror(errno);
    if (null_fd >= 0) ::close(null_fd);
    return -1;
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // mpirun dies with the daemon, and its ranks with it
    if (::getppid() != parent) ::_exit(127);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (null_fd >= 0) ::close(null_fd);
  return pid;
}

}  // namespace

std::vector<std::string> mpirun_command(const MpiOptions& o, int world, std::int64_t job_id, const std::string& run) {
  // --oversubscribe: more ranks than cores is allowed (CPU ranks on a small machine); a waiting
  // rank yields its core instead of spinning on it.
  std::vector<std::string> a = {o.mpirun, "-np", std::to_string(world), "--oversubscribe",
                                "--mca", "mpi_yield_when_idle", "1"};
  for (const auto& x : o.mpirun_args) a.push_back(x);
  for (const std::string& x : {o.worker.string(), std::string("--daemon-socket"), o.socket.string(),
                               std::string("--job"), std::to_string(job_id), std::string("--run"), run})
    a.push_back(x);
  return a;
}

WorkerOutcome run_in_mpirun(const MpiOptions& opt, int world, const wb_host& host, wb_job& job, const WorkerJob& what,
                            WorkerMailboxes& mailboxes) {
  WorkerOutcome out;
  auto start_failed = [&](const std::string& why) {
    out.reported = true;
    out.status = WB_ERROR;
    out.message = "cannot start the job's " + std::to_string(world) + " MPI ranks: " + why;
    return out;
  };
  std::error_code ec;
  if (!fs::is_regular_file(opt.worker, ec) || ::access(opt.worker.c_str(), X_OK) != 0)
    return start_failed(opt.worker.string() + " is missing or not executable (wb-worker is installed next to workbenchd)");
  const std::string mpirun = resolve(opt.mpirun);
  if (mpirun.empty()) return start_failed(opt.mpirun + " is not on the daemon's PATH (install OpenMPI, or set jobs.mpirun)");
  const std::string run = random_run();
  std::vector<std::string> args = mpirun_command(opt, world, job.id, run);
  args[0] = mpirun;

  // One OpenMP thread per rank unless told otherwise: N ranks share this machine's cores.
  std::vector<std::string> env;
  bool has_omp = false;
  for (char** e = environ; e && *e; ++e) {
    env.emplace_back(*e);
    has_omp |= env.back().rfind("OMP_NUM_THREADS=", 0) == 0;
  }
  if (!has_omp) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    env.push_back("OMP_NUM_THREADS=" + std::to_string(std::max(1u, cores / static_cast<unsigned>(world))));
  }

  const fs::path log = fs::path(job.dir) / "mpirun.log";
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return start_failed("cannot open " + log.string() + ": " + std::strerror(errno));
  struct stat lst {};
  ::fstat(log_fd, &lst);
  const std::streamoff log_from = lst.st_size;
  // The box opens before mpirun starts: the ranks may say hello at once.
  std::unique_ptr<WorkerMailbox> box = mailboxes.open(job.id, run);
  std::string err;
  const pid_t pid = spawn(args, std::move(env), log_fd, err);
  ::close(log_fd);
  if (pid < 0) return start_failed(err);
  MpirunProcess proc(pid);
  spdlog::info("job {} runs as {} MPI ranks under mpirun process {} (output: {})", job.id, world, pid, log.string());
  host.job_log(host.ctx, &job, WB_LOG_INFO,
               ("running as " + std::to_string(world) + " MPI ranks: " + mpirun + " -np " + std::to_string(world) +
                " (process " + std::to_string(pid) + ", output in " + log.string() + ")")
                   .c_str());

  const auto beat = std::max<std::chrono::milliseconds>(std::chrono::milliseconds(50), opt.heartbeat_timeout / 4);
  const json start = {{"type", "start"},
                      {"job_id", job.id},
                      {"kind", what.kind},
                      {"dir", job.dir},
                      {"data_dir", what.data_dir},
                      {"plugin", what.plugin_path},
                      {"init_config", what.init_config},
                      {"spec", what.spec_text},
                      {"heartbeat_ms", beat.count()},
                      {"cancelled", false},
                      {"shutting_down", false}};
  std::vector<Clock::time_point> last_seen(static_cast<std::size_t>(world), Clock::now());
  std::vector<bool> finished(static_cast<std::size_t>(world), false);
  constexpr Clock::time_point kNever = Clock::time_point::max();
  Clock::time_point term_at = kNever, kill_at = kNever, reap_by = kNever;
  if (job.cancel_requested.load()) term_at = Clock::now() + opt.stop_grace;
  bool cancel_seen = job.cancel_requested.load();
  std::string stopped_for;

  // Answers one frame of rank `rank`.
  auto serve = [&](WorkerMailbox::Item& item) {
    std::vector<json> answer;
    const json& f = item.frame;
    const std::string type = f.value("type", "");
    const int rank = f.value("rank", 0);
    if (rank >= 0 && rank < world) last_seen[static_cast<std::size_t>(rank)] = Clock::now();
    if (rank < 0 || rank >= world) {
      spdlog::warn("job {}: a frame from rank {} of a world of {} was dropped", job.id, rank, world);
    } else if (type == "hello") {
      answer.push_back(start);
      if (f.contains("pid"))
        host.job_log(host.ctx, &job, WB_LOG_INFO,
                     ("rank " + std::to_string(rank) + " of " + std::to_string(world) + " started: process " +
                      f["pid"].dump())
                         .c_str());
    } else if (rank == 0) {
      try {
        if (relay(f, host, job, [&](const json& r) { answer.push_back(r); }, out)) {
          finished[0] = true;
          reap_by = Clock::now() + opt.stop_grace;  // the others end with rank 0
        }
      } catch (const std::exception& e) {
        spdlog::warn("job {}: relaying a worker message failed: {}", job.id, e.what());
      }
    } else if (type == "call") {
      // Ranks > 0 read (lookup, dataset_rows); recording is rank 0's.
      const std::string fn = f.value("fn", "");
      if (fn == "lookup" || fn == "dataset_rows") {
        WorkerOutcome ignored;
        try {
          relay(f, host, job, [&](const json& r) { answer.push_back(r); }, ignored);
        } catch (const std::exception& e) {
          spdlog::warn("job {}: relaying rank {}'s call failed: {}", job.id, rank, e.what());
        }
      } else {
        answer.push_back({{"type", "reply"},
                          {"id", f.value("id", std::int64_t(0))},
                          {"status", int(WB_INVALID)},
                          {"message", "only rank 0 of a data-parallel job records (" + fn + " from rank " +
                                          std::to_string(rank) + ")"}});
      }
    } else if (type == "result") {
      finished[static_cast<std::size_t>(rank)] = true;
      const int st = f.value("status", int(WB_ERROR));
      if (st != WB_OK && st != WB_CANCELLED && st != WB_INTERRUPTED)
        host.job_log(host.ctx, &job, WB_LOG_ERROR,
                     ("rank " + std::to_string(rank) + " failed: " + f.value("message", std::string("(no message)")))
                         .c_str());
    }
    // log, progress, metric, daemon_log of ranks > 0: dropped (rank 0 reports for the job).
    if (job.cancel_requested.load()) answer.push_back({{"type", "cancel"}});
    if (job.shutting_down.load()) answer.push_back({{"type", "shutdown"}});
    item.answer.set_value(std::move(answer));
  };

  std::optional<int> status;
  bool forced = false;
  for (;;) {
    if (auto item = box->next(std::chrono::milliseconds(50))) {
      serve(*item);
    } else if ((status = proc.try_reap())) {
      break;
    }
    const auto now = Clock::now();
    if (job.cancel_requested.load() && !cancel_seen) {
      cancel_seen = true;
      term_at = std::min(term_at, now + opt.stop_grace);
    }
    if (now >= term_at) {
      term_at = kNever;
      if (stopped_for.empty()) stopped_for = "the ranks did not stop within jobs.stop_grace_s of the cancel";
      spdlog::warn("job {}: {}; sending SIGTERM to mpirun {}", job.id, stopped_for, pid);
      proc.signal(SIGTERM);
      kill_at = now + opt.stop_grace;
    }
    if (now >= kill_at || (!forced && now >= reap_by)) {
      kill_at = kNever;
      forced = true;
      spdlog::warn("job {}: mpirun {} still running; sending SIGKILL", job.id, pid);
      proc.signal(SIGKILL);
    }
    if (stopped_for.empty() && !finished[0])
      for (int r = 0; r < world; ++r)
        if (!finished[static_cast<std::size_t>(r)] && now - last_seen[static_cast<std::size_t>(r)] > opt.heartbeat_timeout) {
          const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(opt.heartbeat_timeout).count();
          stopped_for = fmt::format("rank {} sent no heartbeat for {:g} s (jobs.heartbeat_timeout_s)", r, ms / 1000.0);
          term_at = now;
          break;
        }
  }
  // Frames still queued (a rank's last words) are answered "closed" with the box.
  if (!out.reported) {
    out.death = describe_exit(*status);
    if (!stopped_for.empty()) out.death = stopped_for + "; stopped: " + out.death;
    const std::string said = what_mpirun_said(log, log_from);
    if (!said.empty()) out.death += ": " + said;
    out.death += " (its output: " + log.string() + ")";
  }
  return out;
}

}  // namespace wb::daemon
