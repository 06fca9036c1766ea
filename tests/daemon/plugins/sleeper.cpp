// sleeper — test plugin for job kind "sleep".
//
// spec {"steps":N, "step_ms":M, "fail_at":K?}: sleeps N steps of M ms. Every step it reports
// progress, a metric ("loss" = 1/(step+1)) and a log line, writes its checkpoint file
// (<job_dir>/checkpoint.txt holding the number of finished steps, replaced atomically) and
// records it with job_checkpoint(). It checks job_cancelled() every 2 ms inside a step. A
// shutdown returns WB_INTERRUPTED (the checkpoint is already on disk); a user cancel returns
// WB_CANCELLED. With "resume_from" it continues after the step the checkpoint holds and reports
// metric "resumed_at" = that step. fail_at = K fails the job at step K. abort_at = K kills the
// whole daemon process (abort()) after step K's sleep, on every run: a job that crashes its host.
// checkpoint_every = C writes the checkpoint only after every C-th step (a resume then repeats
// the steps after it).
//
// Built against the released ABI 2 header (tests/daemon/plugins/abi2): host functions without a
// context argument, wb_plugin without struct_size. It stays so, to keep ABI 2 plugins loading.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "wb/wb_plugin.h"

namespace {

using nlohmann::json;
const wb_host* g_host = nullptr;

struct Spec {
  std::int64_t steps = 0;
  std::int64_t step_ms = 10;
  std::int64_t fail_at = -1;
  std::int64_t abort_at = -1;
  std::int64_t checkpoint_every = 1;
  std::string resume_from;
};

void set_error(wb_error* err, const std::string& m) {
  std::snprintf(err->message, sizeof err->message, "%s", m.c_str());
}

// Parses and checks a spec; returns false with a message naming the field.
bool parse_spec(const char* text, bool allow_daemon_fields, Spec& s, std::string& msg) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    msg = "spec: expected a JSON object";
    return false;
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    auto int_in = [&](std::int64_t lo, std::int64_t hi, std::int64_t& out) {
      if (!v.is_number_integer()) {
        msg = "field 'spec." + k + "': expected an integer, got " + v.type_name();
        return false;
      }
      std::int64_t x = v.get<std::int64_t>();
      if (x < lo || x > hi) {
        msg = "field 'spec." + k + "': expected " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + v.dump();
        return false;
      }
      out = x;
      return true;
    };
    if (k == "steps") {
      if (!int_in(0, 1000000, s.steps)) return false;
    } else if (k == "step_ms") {
      if (!int_in(0, 60000, s.step_ms)) return false;
    } else if (k == "fail_at") {
      if (!int_in(0, 1000000, s.fail_at)) return false;
    } else if (k == "abort_at") {
      if (!int_in(0, 1000000, s.abort_at)) return false;
    } else if (k == "checkpoint_every") {
      if (!int_in(1, 1000000, s.checkpoint_every)) return false;
    } else if (allow_daemon_fields && k == "job_id") {
    } else if (allow_daemon_fields && k == "resume_from" && v.is_string()) {
      s.resume_from = v.get<std::string>();
    } else {
      msg = "field 'spec." + k + "': unknown field (expected steps, step_ms, fail_at, abort_at, checkpoint_every)";
      return false;
    }
  }
  if (!j.contains("steps")) {
    msg = "field 'spec.steps': required";
    return false;
  }
  return true;
}

wb_status sleeper_init(const wb_host* host, const char*, wb_error* err) {
  if (!host || host->abi_version != WB_PLUGIN_ABI_VERSION) {
    set_error(err, "sleeper: unexpected host table");
    return WB_ERROR;
  }
  g_host = host;
  return WB_OK;
}

wb_status sleeper_validate(const char*, const char* spec, wb_error* err) {
  Spec s;
  std::string msg;
  if (!parse_spec(spec, false, s, msg)) {
    set_error(err, msg);
    return WB_INVALID;
  }
  return WB_OK;
}

wb_status sleeper_run(wb_job* job, const char*, const char* spec_text, wb_error* err) {
  try {
    Spec s;
    std::string msg;
    if (!parse_spec(spec_text, true, s, msg)) {
      set_error(err, msg);
      return WB_INVALID;
    }
    std::int64_t start = 0;
    if (!s.resume_from.empty()) {
      std::ifstream in(s.resume_from);
      if (!(in >> start) || start < 0 || start > s.steps) {
        set_error(err, "cannot read checkpoint " + s.resume_from);
        return WB_ERROR;
      }
      g_host->job_log(job, WB_LOG_INFO, ("resumed from step " + std::to_string(start)).c_str());
      g_host->job_metric(job, start, "resumed_at", static_cast<double>(start));
    }
    std::string dir = g_host->job_dir(job);
    std::string ckpt = dir + "/checkpoint.txt";
    for (std::int64_t step = start; step < s.steps; ++step) {
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(s.step_ms);
      do {
        if (g_host->job_cancelled(job)) {
          if (g_host->job_shutting_down(job)) {
            g_host->job_log(job, WB_LOG_INFO, ("interrupted at step " + std::to_string(step)).c_str());
            return WB_INTERRUPTED;
          }
          g_host->job_log(job, WB_LOG_INFO, ("cancelled at step " + std::to_string(step)).c_str());
          return WB_CANCELLED;
        }
        auto left = until - std::chrono::steady_clock::now();
        if (left > std::chrono::milliseconds(2)) left = std::chrono::milliseconds(2);
        if (left > std::chrono::nanoseconds(0)) std::this_thread::sleep_for(left);
      } while (std::chrono::steady_clock::now() < until);
      if (s.abort_at == step) std::abort();
      if (s.fail_at == step) {
        set_error(err, "sleeper failed at step " + std::to_string(step) + " as asked (fail_at)");
        return WB_ERROR;
      }
      if ((step + 1) % s.checkpoint_every == 0) {
        std::string tmp = ckpt + ".tmp";
        std::ofstream out(tmp, std::ios::trunc);
        out << (step + 1) << "\n";
        out.close();
        if (!out || std::rename(tmp.c_str(), ckpt.c_str()) != 0) {
          set_error(err, "cannot write checkpoint " + ckpt);
          return WB_ERROR;
        }
        if (g_host->job_checkpoint(job, ckpt.c_str(), err) != WB_OK) return WB_ERROR;
      }
      g_host->job_progress(job, double(step + 1) / double(s.steps), "sleep");
      g_host->job_metric(job, step + 1, "loss", 1.0 / double(step + 1));
      g_host->job_log(job, WB_LOG_INFO, ("step " + std::to_string(step + 1) + "/" + std::to_string(s.steps)).c_str());
    }
    if (s.steps == 0) g_host->job_progress(job, 1.0, "sleep");
    return WB_OK;
  } catch (const std::exception& e) {
    set_error(err, std::string("sleeper: ") + e.what());
    return WB_ERROR;
  }
}

void sleeper_shutdown() { g_host = nullptr; }

const char* const kKinds[] = {"sleep", nullptr};

const wb_plugin kPlugin = {
    WB_PLUGIN_ABI_VERSION, "sleeper", "1.0.0", kKinds, sleeper_init, sleeper_validate, sleeper_run,
    sleeper_shutdown,      nullptr /* serving */, nullptr /* methods */, nullptr /* invoke */,
};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
