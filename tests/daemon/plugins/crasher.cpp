// crasher — ABI 3 test plugin for job kind "crash": a job that really dies the way a broken
// plugin dies, to test the daemon's supervision of its worker processes.
//
// spec {"steps": N, "step_ms": M, "at": K, "how": H, "once": B}: N steps of M ms (checking
// job_cancelled() every 2 ms). Before the first step it reports metric "pid" = its process id.
// After each step it writes <job_dir>/checkpoint.txt (the steps done) and records it. When K steps
// are done it does H:
//   "segv"           writes through a null pointer (SIGSEGV)
//   "sigkill"        raise(SIGKILL)
//   "stop"           raise(SIGSTOP): every thread stops, heartbeats included (a real hang)
//   "exit"           _Exit(3)
//   "ignore_cancel"  sleeps forever without looking at job_cancelled()
//   "none"           nothing (the job succeeds)
// once = true does it only on a fresh run, not after a resume ("resume_from"), which reports
// metric "resumed_at" = the checkpoint's step.
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "wb/wb_plugin.h"

namespace {

using nlohmann::json;
const wb_host* g_host = nullptr;

wb_status crash_init(const wb_host* host, const char*, wb_error* err) {
  if (!host || host->abi_version < 3 || !WB_STRUCT_HAS(host, wb_host, register_artifact)) {
    wb_error_set(err, "crasher: host table too old");
    return WB_ERROR;
  }
  g_host = host;
  return WB_OK;
}

wb_status crash_validate(const char*, const char* spec, wb_error* err) {
  json j = json::parse(spec, nullptr, false);
  if (!j.is_object()) {
    wb_error_set(err, "spec: expected a JSON object");
    return WB_INVALID;
  }
  const std::string how = j.value("how", "none");
  if (how != "segv" && how != "sigkill" && how != "stop" && how != "exit" && how != "ignore_cancel" && how != "none") {
    wb_error_set(err, ("field 'spec.how': unknown '" + how + "'").c_str());
    return WB_INVALID;
  }
  return WB_OK;
}

void die(const std::string& how) {
  if (how == "segv") {
    volatile int* volatile p = nullptr;
    *p = 42;
  } else if (how == "sigkill") {
    std::raise(SIGKILL);
  } else if (how == "stop") {
    std::raise(SIGSTOP);
  } else if (how == "exit") {
    std::_Exit(3);
  } else if (how == "ignore_cancel") {
    for (;;) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

wb_status crash_run(wb_job* job, const char*, const char* spec_text, wb_error* err) {
  try {
    void* ctx = g_host->ctx;
    json s = json::parse(spec_text);
    const std::int64_t steps = s.value("steps", 3), step_ms = s.value("step_ms", 10), at = s.value("at", 1);
    const std::string how = s.value("how", "none");
    const bool once = s.value("once", false);
    std::int64_t start = 0;
    const bool resumed = s.contains("resume_from");
    if (resumed) {
      std::ifstream in(s["resume_from"].get<std::string>());
      if (!(in >> start)) {
        wb_error_set(err, "crasher: cannot read its checkpoint");
        return WB_ERROR;
      }
      g_host->job_metric(ctx, job, start, "resumed_at", double(start));
    }
    g_host->job_metric(ctx, job, start, "pid", double(::getpid()));
    const std::string ckpt = std::string(g_host->job_dir(ctx, job)) + "/checkpoint.txt";
    for (std::int64_t step = start; step < steps; ++step) {
      if (step == at && !(once && resumed)) die(how);
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(step_ms);
      while (std::chrono::steady_clock::now() < until) {
        if (g_host->job_cancelled(ctx, job)) return g_host->job_shutting_down(ctx, job) ? WB_INTERRUPTED : WB_CANCELLED;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      {
        std::ofstream out(ckpt + ".tmp", std::ios::trunc);
        out << (step + 1) << "\n";
      }
      std::rename((ckpt + ".tmp").c_str(), ckpt.c_str());
      if (g_host->job_checkpoint(ctx, job, ckpt.c_str(), err) != WB_OK) return WB_ERROR;
      g_host->job_progress(ctx, job, double(step + 1) / double(steps), "crash");
      g_host->job_metric(ctx, job, step + 1, "step", double(step + 1));
    }
    if (at >= steps && !(once && resumed)) die(how);
    return WB_OK;
  } catch (const std::exception& e) {
    wb_error_set(err, (std::string("crasher: ") + e.what()).c_str());
    return WB_ERROR;
  }
}

void crash_shutdown() { g_host = nullptr; }

const char* const kKinds[] = {"crash", nullptr};

const wb_plugin kPlugin = {
    WB_PLUGIN_ABI_VERSION, sizeof(wb_plugin), "crasher", "1.0.0", kKinds, crash_init, crash_validate, crash_run,
    crash_shutdown,        nullptr,           nullptr,   nullptr, nullptr, nullptr,
};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
