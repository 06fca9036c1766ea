#include "plugins/host_api.h"

#include <atomic>

#include <spdlog/spdlog.h>

#include "jobs/job_context.h"
#include "wb/storage/error.h"

namespace wb::daemon {
namespace {

using nlohmann::json;

HostServices& services(void* ctx) { return *static_cast<HostServices*>(ctx); }

const char* level_name(wb_log_level l) {
  switch (l) {
    case WB_LOG_DEBUG: return "debug";
    case WB_LOG_WARN: return "warn";
    case WB_LOG_ERROR: return "error";
    default: return "info";
  }
}

void set_error(wb_error* err, const std::string& msg) { wb_error_set(err, msg.c_str()); }

// Runs `fn`, mapping exceptions to a status + message (nothing crosses the C ABI).
template <class F>
wb_status guarded(wb_error* err, F&& fn) {
  try {
    return fn();
  } catch (const storage::Error& e) {
    set_error(err, e.what());
    switch (e.code()) {
      case storage::ErrorCode::NotFound: return WB_NOT_FOUND;
      case storage::ErrorCode::Invalid:
      case storage::ErrorCode::InvalidDataset: return WB_INVALID;
      default: return WB_ERROR;
    }
  } catch (const json::exception& e) {
    set_error(err, std::string("invalid JSON: ") + e.what());
    return WB_INVALID;
  } catch (const std::exception& e) {
    set_error(err, e.what());
    return WB_ERROR;
  } catch (...) {
    set_error(err, "unknown error");
    return WB_ERROR;
  }
}

// For void host functions: log failures instead of returning them.
template <class F>
void logged(const char* what, F&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    spdlog::warn("host {}: {}", what, e.what());
  } catch (...) {
    spdlog::warn("host {}: unknown error", what);
  }
}

const char* str(const char* s) { return s ? s : ""; }

void h_log(void*, wb_log_level level, const char* message) {
  switch (level) {
    case WB_LOG_DEBUG: spdlog::debug("plugin: {}", str(message)); break;
    case WB_LOG_WARN: spdlog::warn("plugin: {}", str(message)); break;
    case WB_LOG_ERROR: spdlog::error("plugin: {}", str(message)); break;
    default: spdlog::info("plugin: {}", str(message));
  }
}

void h_job_log(void* ctx, wb_job* job, wb_log_level level, const char* message) {
  if (!job) return;
  logged("job_log", [&] { services(ctx).events->log(job->id, level_name(level), str(message)); });
}

void h_job_progress(void* ctx, wb_job* job, double fraction, const char* phase) {
  if (!job) return;
  if (!(fraction >= 0)) fraction = 0;
  if (fraction > 1) fraction = 1;
  logged("job_progress", [&] { services(ctx).events->progress(job->id, fraction, str(phase)); });
}

void h_job_metric(void* ctx, wb_job* job, int64_t step, const char* name, double value) {
  if (!job) return;
  logged("job_metric", [&] { services(ctx).events->metric(job->id, step, str(name), value); });
}

int h_job_cancelled(void*, wb_job* job) {
  return job && (job->cancel_requested.load() || job->shutting_down.load()) ? 1 : 0;
}

int h_job_shutting_down(void*, wb_job* job) { return job && job->shutting_down.load() ? 1 : 0; }

wb_status h_job_checkpoint(void* ctx, wb_job* job, const char* path, wb_error* err) {
  return guarded(err, [&] {
    if (!job) throw storage::Invalid("job handle is NULL");
    if (!path || !*path) throw storage::Invalid("checkpoint path is empty");
    services(ctx).events->store().jobs().set_checkpoint(job->id, path);
    return WB_OK;
  });
}

const char* h_job_dir(void*, wb_job* job) { return job ? job->dir.c_str() : ""; }

const char* h_data_dir(void* ctx) { return services(ctx).data_dir.c_str(); }

wb_status h_lookup(void* ctx, wb_job*, const char* kind, const char* name, wb_emit_fn emit, void* user,
                   wb_error* err) {
  return guarded(err, [&] {
    std::string k = str(kind), n = str(name);
    auto& st = services(ctx).events->store();
    json j;
    if (k == "model") j = st.models().get(n);
    else if (k == "adapter") j = st.adapters().get(n);
    else if (k == "dataset") j = st.datasets().get(n);
    else throw storage::Invalid("lookup kind must be model, adapter or dataset, got '" + k + "'");
    std::string text = j.dump(-1, ' ', false, json::error_handler_t::replace);
    if (emit) emit(user, text.c_str());
    return WB_OK;
  });
}

wb_status h_dataset_rows(void* ctx, wb_job*, const char* dataset, const char* split, int64_t offset, int64_t limit,
                         int (*row)(void*, int64_t, const char*), void* user, wb_error* err) {
  return guarded(err, [&] {
    std::optional<storage::Split> sp;
    if (split && *split) {
      sp = storage::parse_split(split);
      if (!sp) throw storage::Invalid(std::string("split must be train or eval, got '") + split + "'");
    }
    if (offset < 0) throw storage::Invalid("offset must be >= 0");
    // Pages are copied out of storage before the callback runs, so the plugin may call any
    // host function (job_log, ...) from inside its row callback.
    const std::int64_t page = 512;
    std::int64_t delivered = 0, pos = offset;
    auto& repo = services(ctx).events->store().datasets();
    for (;;) {
      std::int64_t want = page;
      if (limit > 0) want = std::min(page, limit - delivered);
      if (want <= 0) break;
      storage::RowsPage p = repo.rows(str(dataset), pos, want, sp);
      for (auto& r : p.rows) {
        if (row && row(user, r.index, r.row_json.c_str()) != 0) return WB_OK;
        ++delivered;
      }
      if (static_cast<std::int64_t>(p.rows.size()) < want) break;
      pos += static_cast<std::int64_t>(p.rows.size());
    }
    return WB_OK;
  });
}

wb_status h_comparison_insert(void* ctx, wb_job*, const char* dataset, const char* comparison_json, wb_error* err) {
  return guarded(err, [&] {
    json body = json::parse(str(comparison_json));
    auto c = storage::ComparisonRepository::parse(body, std::string_view(str(dataset)));
    services(ctx).events->store().comparisons().insert(c);
    return WB_OK;
  });
}

wb_status h_register_artifact(void* ctx, wb_job* job, const char* kind, const char* artifact_json, wb_error* err) {
  return guarded(err, [&] {
    std::string k = str(kind);
    json j = json::parse(str(artifact_json));
    auto& st = services(ctx).events->store();
    if (k == "model") {
      st.models().add(storage::ModelRepository::parse(j));
    } else if (k == "adapter") {
      if (job && j.is_object() && !j.contains("job")) j["job"] = job->id;
      st.adapters().add(storage::AdapterRepository::parse(j));
    } else if (k == "dataset") {
      if (!j.is_object()) throw storage::Invalid("dataset artifact: expected a JSON object");
      for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "name" && it.key() != "kind" && it.key() != "rows" && it.key() != "source" &&
            it.key() != "eval_fraction")
          throw storage::Invalid("dataset artifact: unknown field '" + it.key() + "'");
      if (!j.contains("name") || !j["name"].is_string()) throw storage::Invalid("dataset artifact: field 'name': expected a string");
      if (!j.contains("kind") || !j["kind"].is_string()) throw storage::Invalid("dataset artifact: field 'kind': expected a string");
      if (!j.contains("rows") || !j["rows"].is_array()) throw storage::Invalid("dataset artifact: field 'rows': expected an array");
      auto dk = storage::parse_dataset_kind(j["kind"].get<std::string>());
      if (!dk) throw storage::Invalid("dataset artifact: field 'kind': expected sft, preference or prompt");
      storage::ImportOptions o;
      o.name = j["name"].get<std::string>();
      o.kind = *dk;
      o.source = j.value("source", job ? "job " + std::to_string(job->id) : std::string("plugin"));
      o.eval_fraction = j.value("eval_fraction", 0.0);
      st.datasets().import_rows(o, j["rows"]);
    } else {
      throw storage::Invalid("artifact kind must be model, adapter or dataset, got '" + k + "'");
    }
    if (job) services(ctx).events->log(job->id, "info", "registered " + k + " " + j.value("name", std::string("?")));
    return WB_OK;
  });
}

// ---- ABI 2: the same functions without the context argument ----------------------------------
// An ABI 2 plugin's host functions carry no context. Those taking a job reach the daemon through
// the job handle (wb_job::host_ctx); the job-less ones (data_dir, lookup and dataset_rows from
// validate() or invoke()) through the services of the daemon that built the table last: one
// daemon per process, as the instance lock enforces for a data directory.
std::atomic<HostServices*> g_legacy_services{nullptr};

// A job-less ABI 2 call after the daemon that built the table is gone.
wb_status no_daemon(wb_error* err) {
  set_error(err, "no daemon serves this ABI 2 plugin's host table any more");
  return WB_ERROR;
}

void* legacy_ctx(wb_job* job) {
  if (job && job->host_ctx) return job->host_ctx;
  return g_legacy_services.load();
}

void v2_log(wb_log_level level, const char* message) { h_log(nullptr, level, message); }
void v2_job_log(wb_job* job, wb_log_level level, const char* message) { h_job_log(legacy_ctx(job), job, level, message); }
void v2_job_progress(wb_job* job, double fraction, const char* phase) {
  h_job_progress(legacy_ctx(job), job, fraction, phase);
}
void v2_job_metric(wb_job* job, int64_t step, const char* name, double value) {
  h_job_metric(legacy_ctx(job), job, step, name, value);
}
int v2_job_cancelled(wb_job* job) { return h_job_cancelled(nullptr, job); }
int v2_job_shutting_down(wb_job* job) { return h_job_shutting_down(nullptr, job); }
wb_status v2_job_checkpoint(wb_job* job, const char* path, wb_error* err) {
  void* ctx = legacy_ctx(job);
  if (!ctx) return no_daemon(err);
  return h_job_checkpoint(ctx, job, path, err);
}
const char* v2_job_dir(wb_job* job) { return h_job_dir(nullptr, job); }
const char* v2_data_dir() {
  void* ctx = legacy_ctx(nullptr);
  return ctx ? h_data_dir(ctx) : "";
}
wb_status v2_lookup(wb_job* job, const char* kind, const char* name, wb_emit_fn emit, void* user, wb_error* err) {
  void* ctx = legacy_ctx(job);
  if (!ctx) return no_daemon(err);
  return h_lookup(ctx, job, kind, name, emit, user, err);
}
wb_status v2_dataset_rows(wb_job* job, const char* dataset, const char* split, int64_t offset, int64_t limit,
                          int (*row)(void*, int64_t, const char*), void* user, wb_error* err) {
  void* ctx = legacy_ctx(job);
  if (!ctx) return no_daemon(err);
  return h_dataset_rows(ctx, job, dataset, split, offset, limit, row, user, err);
}
wb_status v2_comparison_insert(wb_job* job, const char* dataset, const char* comparison_json, wb_error* err) {
  void* ctx = legacy_ctx(job);
  if (!ctx) return no_daemon(err);
  return h_comparison_insert(ctx, job, dataset, comparison_json, err);
}
wb_status v2_register_artifact(wb_job* job, const char* kind, const char* artifact_json, wb_error* err) {
  void* ctx = legacy_ctx(job);
  if (!ctx) return no_daemon(err);
  return h_register_artifact(ctx, job, kind, artifact_json, err);
}

}  // namespace

wb_host make_host_table(HostServices* services) {
  return wb_host{
      WB_PLUGIN_ABI_VERSION,
      sizeof(wb_host),
      services,
      h_log,
      h_job_log,
      h_job_progress,
      h_job_metric,
      h_job_cancelled,
      h_job_shutting_down,
      h_job_checkpoint,
      h_job_dir,
      h_data_dir,
      h_lookup,
      h_dataset_rows,
      h_comparison_insert,
      h_register_artifact,
  };
}

void release_host_table_v2(HostServices* services) {
  g_legacy_services.compare_exchange_strong(services, nullptr);
}

abi_v2::wb_host make_host_table_v2(HostServices* services) {
  g_legacy_services.store(services);
  return abi_v2::wb_host{
      2,
      sizeof(abi_v2::wb_host),
      v2_log,
      v2_job_log,
      v2_job_progress,
      v2_job_metric,
      v2_job_cancelled,
      v2_job_shutting_down,
      v2_job_checkpoint,
      v2_job_dir,
      v2_data_dir,
      v2_lookup,
      v2_dataset_rows,
      v2_comparison_insert,
      v2_register_artifact,
  };
}

}  // namespace wb::daemon
