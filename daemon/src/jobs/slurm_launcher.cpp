#include "jobs/slurm_launcher.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "jobs/job_context.h"
#include "jobs/run_command.h"

namespace wb::daemon {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

[[noreturn]] void bad(const std::string& field, const std::string& what) {
  throw std::invalid_argument("field 'spec." + field + "': " + what);
}

std::string take_string(json& spec, const char* key, bool required) {
  if (!spec.contains(key)) {
    if (required) bad(key, "required with launcher = \"slurm\"");
    return "";
  }
  if (!spec[key].is_string() || spec[key].get<std::string>().empty()) bad(key, "expected a non-empty string");
  std::string v = spec[key].get<std::string>();
  // sbatch reads these from #SBATCH lines: one line, no quote tricks.
  for (char c : v)
    if (c == '\n' || c == '\r' || c == '\'' || c == '"' || c == '\\' || c == ' ')
      bad(key, "must not contain spaces, quotes, backslashes or line breaks");
  spec.erase(key);
  return v;
}

int take_int(json& spec, const char* key, int def, int min) {
  if (!spec.contains(key)) return def;
  const json& v = spec[key];
  if (!v.is_number_integer() || v.get<std::int64_t>() < min || v.get<std::int64_t>() > 100000)
    bad(key, "expected an integer >= " + std::to_string(min));
  const int n = static_cast<int>(v.get<std::int64_t>());
  spec.erase(key);
  return n;
}

// '...' for a shell, ' inside written as '\''.
std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string random_run() {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 16; ++i) s += hex[rd() % 16];
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  std::size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\n')) ++b;
  return s.substr(b);
}

// Writes `text` to `path` with `mode`, replacing it (tmp + rename). Throws on failure.
void write_file(const fs::path& path, const std::string& text, mode_t mode) {
  const fs::path tmp = path.string() + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  ::fchmod(fd, mode);  // whatever the umask
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw std::runtime_error("cannot write " + path.string() + ": " + std::strerror(errno));
}

// Slurm states in which the job may still run its worker.
bool live_state(const std::string& s) {
  static const std::set<std::string> live = {"PENDING", "CONFIGURING", "RUNNING", "COMPLETING", "SUSPENDED",
                                             "RESIZING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "SIGNALING",
                                             "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD"};
  return live.count(s) > 0;
}

// The Slurm job's state: squeue while the controller still lists it, then sacct (accounting on),
// then scontrol; "" when none knows it.
std::string slurm_state(const std::string& sid) {
  CommandResult q = run_command({"squeue", "-h", "-j", sid, "-o", "%T"});
  std::string s = trim(q.output);
  if (q.exit_code == 0 && !s.empty() && s.find('\n') == std::string::npos) return s;
  CommandResult a = run_command({"sacct", "-n", "-X", "-P", "-j", sid, "-o", "State"});
  s = trim(a.output);
  if (a.exit_code == 0 && !s.empty() && s.find('\n') == std::string::npos) return s.substr(0, s.find(' '));
  CommandResult c = run_command({"scontrol", "show", "job", sid});
  const auto at = c.output.find("JobState=");
  if (c.exit_code == 0 && at != std::string::npos) {
    const auto b = at + 9;
    return c.output.substr(b, c.output.find_first_of(" \n", b) - b);
  }
  return "";
}

}  // namespace

LaunchSpec take_launch_fields(json& spec) {
  LaunchSpec l;
  const bool has_launcher = spec.contains("launcher");
  if (has_launcher) {
    const json& v = spec["launcher"];
    if (!v.is_string() || (v != "local" && v != "slurm"))
      bad("launcher", "expected \"local\" or \"slurm\", got " + v.dump());
    l.slurm = v == "slurm";
    spec.erase("launcher");
  }
  for (const char* k : {"partition", "nodes", "gpus_per_node", "time_limit", "account"})
    if (!l.slurm && spec.contains(k)) bad(k, "only with launcher = \"slurm\"");
  if (spec.contains("world")) {
    // The plugin reads it too (its collectives): kept in the spec when > 1.
    json copy = spec["world"];
    l.world = take_int(spec, "world", 1, 1);
    if (l.world > 1) spec["world"] = copy;
    if (l.world > 1024) bad("world", "at most 1024 ranks");
  }
  if (l.slurm && l.world > 1)
    bad("world", "launcher = \"slurm\" runs a job as one rank; world > 1 runs with launcher = \"local\" (mpirun on "
                 "this machine)");
  if (!l.slurm) return l;
  SlurmSpec& s = l.slurm_spec;
  s.partition = take_string(spec, "partition", true);
  s.nodes = take_int(spec, "nodes", 1, 1);
  if (s.nodes != 1) bad("nodes", "this job kind runs on one node (one rank); got " + std::to_string(s.nodes));
  s.gpus_per_node = take_int(spec, "gpus_per_node", 0, 0);
  // `--set time_limit=30` arrives as a number: minutes, as sbatch reads it.
  if (spec.contains("time_limit") && spec["time_limit"].is_number_integer()) {
    if (spec["time_limit"].get<std::int64_t>() < 1) bad("time_limit", "expected minutes >= 1 or a Slurm time string");
    spec["time_limit"] = std::to_string(spec["time_limit"].get<std::int64_t>());
  }
  s.time_limit = take_string(spec, "time_limit", false);
  s.account = take_string(spec, "account", false);
  return l;
}

std::string slurm_batch_script(const SlurmOptions& o, const SlurmSpec& s, std::int64_t job_id,
                               const std::string& job_dir, const std::string& run) {
  std::string t = "#!/bin/sh\n";
  t += "# workbench job " + std::to_string(job_id) + ", written by workbenchd and submitted with sbatch --parsable.\n";
  t += "# The worker reports to the daemon over its TCP listener; the bearer token is read from\n";
  t += "# worker.token (mode 0600) beside this script, never passed on a command line.\n";
  t += "#SBATCH --job-name=wb-job-" + std::to_string(job_id) + "\n";
  t += "#SBATCH --partition=" + s.partition + "\n";
  t += "#SBATCH --nodes=" + std::to_string(s.nodes) + "\n";
  t += "#SBATCH --ntasks-per-node=1\n";
  if (s.gpus_per_node > 0) t += "#SBATCH --gpus-per-node=" + std::to_string(s.gpus_per_node) + "\n";
  if (!s.time_limit.empty()) t += "#SBATCH --time=" + s.time_limit + "\n";
  if (!s.account.empty()) t += "#SBATCH --account=" + s.account + "\n";
  t += "#SBATCH --chdir=" + job_dir + "\n";
  t += "#SBATCH --output=" + job_dir + "/slurm-%j.out\n";
  t += "exec srun " + quote(o.worker.string()) + " --daemon-url " + quote(o.daemon_url) + " --job " +
       std::to_string(job_id) + " --run " + run + " --token-file " + quote(job_dir + "/worker.token") + "\n";
  return t;
}

WorkerOutcome run_in_slurm(const SlurmOptions& opt, const SlurmSpec& spec, const wb_host& host, wb_job& job,
                           const WorkerJob& what, WorkerMailboxes& mailboxes,
                           const std::function<void(const std::string&)>& submitted) {
  WorkerOutcome out;
  auto failed = [&](const std::string& why) {
    out.reported = true;
    out.status = WB_ERROR;
    out.message = "cannot submit the job to Slurm: " + why;
    return out;
  };
  if (opt.daemon_url.empty() || opt.token.empty())
    return failed("the daemon's TCP listener is not running with a token ([tcp] enabled = true, tcp.token)");
  const std::string run = random_run();
  const fs::path dir = job.dir;
  const fs::path script = dir / "slurm.sbatch";
  try {
    write_file(dir / "worker.token", opt.token + "\n", 0600);
    write_file(script, slurm_batch_script(opt, spec, job.id, job.dir, run), 0644);
  } catch (const std::exception& e) {
    return failed(e.what());
  }
  // The box opens before sbatch: the worker may start at once.
  std::unique_ptr<WorkerMailbox> box = mailboxes.open(job.id, run);
  CommandResult sb = run_command({"sbatch", "--parsable", script.string()});
  std::string sid = trim(sb.output);
  if (sb.exit_code != 0 || sid.empty())
    return failed("sbatch " + script.string() + " failed" +
                  (sb.exit_code >= 0 ? " (exit " + std::to_string(sb.exit_code) + ")" : std::string()) + ": " +
                  (sid.empty() ? "no output" : sid));
  sid = sid.substr(0, sid.find(';'));  // "12;cluster" on a federation
  sid = sid.substr(sid.rfind('\n') + 1);
  submitted(sid);
  spdlog::info("job {} submitted to Slurm as job {} ({})", job.id, sid, script.string());

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
  bool started = false, scancelled = false;
  std::string state = "PENDING", stopped_for;
  Clock::time_point last_seen = Clock::now(), next_poll = Clock::now();
  auto scancel = [&](const std::string& why) {
    if (scancelled) return;
    scancelled = true;
    spdlog::info("job {}: scancel {} ({})", job.id, sid, why);
    CommandResult c = run_command({"scancel", sid});
    if (c.exit_code != 0) spdlog::warn("job {}: scancel {} failed: {}", job.id, sid, trim(c.output));
  };
  // Answers one frame; true when it was the result.
  auto serve = [&](WorkerMailbox::Item& item) {
    std::vector<json> answer;
    bool result = false;
    const std::string type = item.frame.value("type", "");
    last_seen = Clock::now();
    if (type == "hello") {
      started = true;
      answer.push_back(start);
    } else {
      try {
        result = relay(item.frame, host, job, [&](const json& r) { answer.push_back(r); }, out);
      } catch (const std::exception& e) {
        spdlog::warn("job {}: relaying a worker message failed: {}", job.id, e.what());
      }
    }
    if (job.cancel_requested.load()) answer.push_back({{"type", "cancel"}});
    if (job.shutting_down.load()) answer.push_back({{"type", "shutdown"}});
    item.answer.set_value(std::move(answer));
    return result;
  };
  for (;;) {
    // Before any frame is answered: the worker may see the cancel in an answer and finish first.
    if (job.cancel_requested.load()) scancel("the job was cancelled");
    if (auto item = box->next(std::chrono::milliseconds(50))) {
      if (serve(*item)) return out;
      continue;
    }
    const auto now = Clock::now();
    if (job.shutting_down.load() && !started && !scancelled) {
      scancel("the daemon is shutting down before the worker started");
      out.reported = true;
      out.status = WB_INTERRUPTED;
      out.message = "Slurm job " + sid + " was still pending when the daemon shut down";
      return out;
    }
    if (started && stopped_for.empty() && !scancelled && state == "RUNNING" && now - last_seen > opt.heartbeat_timeout) {
      stopped_for = "sent no heartbeat for " +
                    std::to_string(std::chrono::duration_cast<std::chrono::seconds>(opt.heartbeat_timeout).count()) +
                    " s (jobs.heartbeat_timeout_s)";
      scancel(stopped_for);
    }
    if (now < next_poll) continue;
    next_poll = now + opt.poll;
    state = slurm_state(sid);
    if (state.empty() || !live_state(state)) {
      // A result posted just before the job left the queue is still served.
      while (auto item = box->next(std::chrono::milliseconds(200)))
        if (serve(*item)) return out;
      out.death = "Slurm job " + sid + " ended " + (state.empty() ? std::string("(no longer known to Slurm)") : state) +
                  " without the job's result";
      if (!stopped_for.empty()) out.death = "worker " + stopped_for + "; " + out.death;
      const fs::path log = dir / ("slurm-" + sid + ".out");
      if (fs::exists(log)) out.death += " (its output: " + log.string() + ")";
      return out;
    }
  }
}

}  // namespace wb::daemon
