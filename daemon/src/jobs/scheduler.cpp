#include "jobs/scheduler.h"

#include <spdlog/spdlog.h>

#include "jobs/job_context.h"
#include "jobs/mpi_launcher.h"
#include "jobs/slurm_launcher.h"
#include "jobs/worker_supervisor.h"
#include "wb/storage/error.h"

namespace wb::daemon {
namespace fs = std::filesystem;
using storage::JobRecord;
using storage::JobState;

Scheduler::Scheduler(JobEvents& events, const PluginHost& plugins, fs::path jobs_root, Options options)
    : events_(events), plugins_(plugins), jobs_root_(std::move(jobs_root)), options_(std::move(options)) {
  if (options_.worker.empty()) options_.worker = worker_executable();
}

Scheduler::~Scheduler() { shutdown(std::chrono::milliseconds(0)); }

void Scheduler::recover() {
  for (const JobRecord& r : events_.store().jobs().recover_after_crash(options_.max_attempts)) {
    events_.transition(r.id, [&] { return r; });  // announce the recovered state
    if (r.state == JobState::Cancelled) {
      spdlog::warn("job {} ({}) was running with a cancel requested when the daemon stopped; now cancelled", r.id, r.kind);
      events_.log(r.id, "warn", "daemon restarted while the job was being cancelled; marked cancelled");
      continue;
    }
    if (r.state == JobState::Held || r.state == JobState::Failed) {
      spdlog::error("job {} ({}) {}: {}", r.id, r.kind, r.state == JobState::Held ? "held" : "failed",
                    r.error.value_or(""));
      events_.log(r.id, "error", r.error.value_or("daemon restarted while the job was running"));
      continue;
    }
    spdlog::warn("job {} ({}) was running when the daemon stopped; re-queued (attempt {}, {})", r.id,
                 r.kind, r.attempts, r.checkpoint ? "resumes from " + *r.checkpoint : "from the start");
    events_.log(r.id, "warn",
                std::string("daemon restarted while the job was running; re-queued ") +
                    (r.checkpoint ? "to resume from checkpoint " + *r.checkpoint : "from the start"));
  }
}

void Scheduler::set_tcp_endpoint(std::string url, std::string token) {
  tcp_url_ = std::move(url);
  tcp_token_ = std::move(token);
}

void Scheduler::start() { thread_ = std::thread([this] { loop(); }); }

void Scheduler::wake() {
  std::lock_guard<std::mutex> lk(mu_);
  woken_ = true;
  cv_.notify_all();
}

JobRecord Scheduler::cancel(std::int64_t id) {
  JobRecord r = events_.transition(id, [&] { return events_.store().jobs().cancel(id); });
  std::lock_guard<std::mutex> lk(mu_);
  if (current_ && current_->id == id) current_->cancel_requested = true;
  return r;
}

JobRecord Scheduler::retry(std::int64_t id, const std::optional<nlohmann::json>& spec) {
  JobRecord r = events_.transition(id, [&] { return events_.store().jobs().retry(id, spec); });
  events_.log(id, "info", "released by a person (retry); resumes " +
                              (r.checkpoint ? "from checkpoint " + *r.checkpoint : std::string("from the start")) +
                              (spec ? " with world " + std::to_string(spec->value("world", 1)) +
                                          (spec->value("reshard", false) ? ", reshard" : "")
                                    : std::string()));
  wake();
  return r;
}

bool Scheduler::shutdown(std::chrono::milliseconds grace) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopping_ && !thread_.joinable()) return true;
    stopping_ = true;
    if (current_) current_->shutting_down = true;
    cv_.notify_all();
  }
  if (!thread_.joinable()) return true;
  std::unique_lock<std::mutex> lk(mu_);
  bool done = cv_.wait_for(lk, grace, [&] { return idle_; });
  lk.unlock();
  if (done) {
    thread_.join();
    return true;
  }
  // The plugin ignored the request; leave it (the process is about to exit) and let start-up
  // recovery re-queue the job next time.
  thread_.detach();
  return false;
}

void Scheduler::worker_died(std::int64_t id, const std::string& cause) {
  try {
    JobRecord r = events_.transition(id, [&] { return events_.store().jobs().worker_died(id, cause, options_.max_attempts); });
    if (r.state == JobState::Queued) {
      const std::string what = cause + "; re-queued " +
                               (r.checkpoint ? "to resume from checkpoint " + *r.checkpoint : std::string("from the start"));
      spdlog::warn("job {} ({}): {}", id, r.kind, what);
      events_.log(id, "warn", what);
    } else {
      spdlog::error("job {} ({}) {}: {}", id, r.kind, to_string(r.state), r.error.value_or(cause));
      events_.log(id, "error", r.error.value_or(cause));
    }
  } catch (const std::exception& e) {
    spdlog::error("job {}: recording its worker's death ({}) failed: {}", id, cause, e.what());
  }
}

void Scheduler::loop() {
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopping_) break;
      idle_ = false;
    }
    std::optional<JobRecord> job;
    try {
      job = events_.store().jobs().claim_next();
    } catch (const std::exception& e) {
      spdlog::error("scheduler: claiming the next job failed: {}", e.what());
    }
    if (job) {
      run_one(std::move(*job));
    }
    std::unique_lock<std::mutex> lk(mu_);
    idle_ = true;
    cv_.notify_all();
    if (stopping_) break;
    if (!job) {
      // Poll as a fallback; wake() makes a new job start at once.
      cv_.wait_for(lk, std::chrono::seconds(1), [&] { return woken_ || stopping_; });
      woken_ = false;
    }
  }
  std::lock_guard<std::mutex> lk(mu_);
  idle_ = true;
  cv_.notify_all();
}

void Scheduler::run_one(JobRecord job) {
  const std::int64_t id = job.id;
  events_.transition(id, [&] { return job; });  // announce running
  auto finish = [&](JobState to, std::optional<std::string> error) {
    try {
      events_.transition(id, [&] { return events_.store().jobs().finish(id, to, error); });
    } catch (const std::exception& e) {
      spdlog::error("job {}: recording the final state failed: {}", id, e.what());
    }
  };

  const wb_plugin* plugin = plugins_.for_kind(job.kind);
  if (!plugin) {
    std::string kinds;
    for (auto& k : plugins_.kinds()) kinds += (kinds.empty() ? "" : ", ") + k;
    std::string msg = "no loaded plugin runs job kind '" + job.kind + "' (loaded kinds: " +
                      (kinds.empty() ? "none" : kinds) + ")";
    spdlog::error("job {}: {}", id, msg);
    return finish(JobState::Failed, msg);
  }

  wb_job ctx;
  ctx.id = id;
  ctx.host_ctx = plugins_.host_ctx();
  ctx.kind = job.kind;
  ctx.dir = (jobs_root_ / std::to_string(id)).string();
  std::error_code ec;
  fs::create_directories(ctx.dir, ec);
  if (ec) return finish(JobState::Failed, "cannot create job directory " + ctx.dir + ": " + ec.message());

  nlohmann::json spec = job.spec;
  LaunchSpec launch;
  try {
    launch = take_launch_fields(spec);  // the daemon's fields; the plugin never sees them
  } catch (const std::exception& e) {
    return finish(JobState::Failed, e.what());
  }
  spec["job_id"] = id;
  if (job.checkpoint) spec["resume_from"] = *job.checkpoint;
  std::string spec_text = spec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  {
    std::lock_guard<std::mutex> lk(mu_);
    ctx.cancel_requested = job.cancel_requested;
    ctx.shutting_down = stopping_;
    current_ = &ctx;
  }
  // A cancel committed between claim and here is seen now (cancel() sets the flag itself once
  // current_ is visible).
  try {
    if (events_.store().jobs().cancel_requested(id)) ctx.cancel_requested = true;
  } catch (const std::exception&) {
  }
  if (job.checkpoint)
    events_.log(id, "info", "resuming from checkpoint " + *job.checkpoint + " (attempt " +
                                std::to_string(job.attempts + 1) + ")");
  spdlog::info("job {} ({}) started{}", id, job.kind, job.checkpoint ? " (resuming)" : "");

  wb_status st = WB_ERROR;
  std::string message;
  std::optional<std::string> death;  // the worker died without a result
  if (options_.in_process && launch.world > 1) {
    st = WB_INVALID;
    message = "field 'spec.world': world > 1 runs the job as MPI ranks in wb-worker processes, but this daemon runs "
              "jobs inside itself (jobs.isolation = \"in_process\")";
  } else if (options_.in_process && !launch.slurm) {
    wb_error err{};
    try {
      st = plugin->run(&ctx, job.kind.c_str(), spec_text.c_str(), &err);
    } catch (...) {
      st = WB_ERROR;
      std::snprintf(err.message, sizeof err.message, "plugin threw an exception across the C ABI");
    }
    err.message[WB_ERROR_CAPACITY - 1] = 0;
    message = err.message;
  } else {
    WorkerOptions wo{options_.worker, options_.heartbeat_timeout, options_.stop_grace};
    const wb_host& host = plugins_.host_table();
    WorkerJob what{plugins_.path_for_kind(job.kind), plugins_.init_config(), job.kind, spec_text, host.data_dir(host.ctx)};
    WorkerOutcome o;
    if (launch.slurm) {
      SlurmOptions so{options_.worker, tcp_url_, tcp_token_, options_.heartbeat_timeout, options_.stop_grace};
      o = run_in_slurm(so, launch.slurm_spec, host, ctx, what, mailboxes_, [&](const std::string& sid) {
        try {
          events_.store().jobs().set_slurm_job_id(id, sid);
        } catch (const std::exception& e) {
          spdlog::error("job {}: recording Slurm job id {} failed: {}", id, sid, e.what());
        }
        events_.log(id, "info", "submitted to Slurm as job " + sid + " (" + ctx.dir + "/slurm.sbatch)");
      });
    } else if (launch.world > 1) {
      MpiOptions mo{options_.worker,  options_.mpirun,           options_.mpirun_args,
                    options_.socket,  options_.heartbeat_timeout, options_.stop_grace};
      o = run_in_mpirun(mo, launch.world, host, ctx, what, mailboxes_);
    } else {
      o = run_in_worker(wo, host, ctx, what);
    }
    if (o.reported) {
      st = o.status;
      message = o.message;
    } else {
      death = o.death;
    }
  }
  bool shutting_down;
  {
    std::lock_guard<std::mutex> lk(mu_);
    current_ = nullptr;
    shutting_down = ctx.shutting_down;
  }
  if (death) {
    if (ctx.cancel_requested) {
      spdlog::info("job {} cancelled ({})", id, *death);
      events_.log(id, "info", "cancelled; " + *death);
      return finish(JobState::Cancelled, std::nullopt);
    }
    return worker_died(id, *death);
  }

  switch (st) {
    case WB_OK:
      spdlog::info("job {} succeeded", id);
      return finish(JobState::Succeeded, std::nullopt);
    case WB_CANCELLED:
      spdlog::info("job {} cancelled", id);
      return finish(JobState::Cancelled, std::nullopt);
    case WB_INTERRUPTED:
      if (shutting_down) {
        spdlog::info("job {} interrupted for shutdown; left queued for resume", id);
        try {
          events_.transition(id, [&] { return events_.store().jobs().requeue(id); });
        } catch (const std::exception& e) {
          spdlog::error("job {}: re-queue failed: {}", id, e.what());
        }
        return;
      }
      return finish(JobState::Failed, "plugin returned WB_INTERRUPTED although the daemon is not shutting down" +
                                          (message.empty() ? std::string() : ": " + message));
    case WB_NO_SPACE: {
      std::optional<std::string> ckpt;
      try {
        ckpt = events_.store().jobs().get(id).checkpoint;
      } catch (const std::exception&) {
      }
      const std::string reason =
          "disk full: " + (message.empty() ? std::string("the plugin could not write its checkpoint") : message) +
          "; " + (ckpt ? "the last good checkpoint " + *ckpt + " is kept" : std::string("no checkpoint was written yet")) +
          "; free space, then release the job with wb job retry " + std::to_string(id);
      spdlog::warn("job {} held: {}", id, reason);
      events_.log(id, "error", reason);
      try {
        events_.transition(id, [&] { return events_.store().jobs().hold(id, reason); });
      } catch (const std::exception& e) {
        spdlog::error("job {}: holding it failed: {}", id, e.what());
      }
      return;
    }
    default:
      if (message.empty()) message = "plugin returned status " + std::to_string(static_cast<int>(st));
      spdlog::warn("job {} failed: {}", id, message);
      return finish(JobState::Failed, message);
  }
}

}  // namespace wb::daemon
