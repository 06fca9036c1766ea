// plugin_abi_v2.h — the ABI 2 layouts of wb_host and wb_plugin, frozen as they were released, so
// the daemon can still load a plugin built against ABI 2 (WB_PLUGIN_ABI_MIN_VERSION):
//   - abi_v2::wb_plugin is wb_plugin without struct_size, which ABI 3 placed in the padding after
//     abi_version: every later field sits at the same offset, so the host reads an ABI 2 plugin as
//     a wb_plugin of sizeof(abi_v2::wb_plugin) bytes (plugin_host.cpp);
//   - abi_v2::wb_host is the host table whose functions take no context (host_api.h
//     make_host_table_v2 builds it).
// Never edit these structs: they describe binaries that already exist.
#pragma once

#include "wb/wb_plugin.h"

namespace wb::daemon::abi_v2 {

struct wb_host {
  uint32_t abi_version; /* == WB_PLUGIN_ABI_VERSION */
  uint32_t struct_size; /* sizeof(wb_host) as the host was built */

  /* Daemon-wide log line (no job). */
  void (*log)(wb_log_level level, const char* message);

  /* ---- job reporting ---- */
  void (*job_log)(wb_job* job, wb_log_level level, const char* message);
  /* fraction in [0,1]; phase is a short word ("train", "eval", "save"). */
  void (*job_progress)(wb_job* job, double fraction, const char* phase);
  /* One scalar (train_loss, eval_loss, lr, tokens_per_s, ...) at an optimizer step. */
  void (*job_metric)(wb_job* job, int64_t step, const char* name, double value);
  /* Nonzero once the job was cancelled or the daemon is shutting down. Check every step. */
  int (*job_cancelled)(wb_job* job);
  /* Nonzero when the stop is a shutdown (checkpoint and return WB_INTERRUPTED), zero for a
   * user cancel (return WB_CANCELLED). */
  int (*job_shutting_down)(wb_job* job);
  /* Records the path of the job's latest complete checkpoint (persisted before returning), so a
   * daemon restart resumes from it: the next run() gets it as spec field "resume_from". */
  wb_status (*job_checkpoint)(wb_job* job, const char* checkpoint_path, wb_error* err);
  /* A directory owned by this job for checkpoints and outputs (created by the host). */
  const char* (*job_dir)(wb_job* job);

  /* ---- data ---- */
  /* The daemon's data directory (absolute path). */
  const char* (*data_dir)(void);
  /* Looks up a registered object; kind is "model", "adapter" or "dataset". Emits its JSON record
   * (same shape as the HTTP API returns) or answers WB_NOT_FOUND. `job` may be NULL (e.g. from
   * validate(), to reject a spec naming an unknown model at submission). */
  wb_status (*lookup)(wb_job* job, const char* kind, const char* name, wb_emit_fn emit, void* user,
                      wb_error* err);
  /* Iterates a dataset's rows in row order; split is "train", "eval" or NULL for all. Each row is
   * emitted as its JSON object. The callback returns nonzero to stop early. */
  wb_status (*dataset_rows)(wb_job* job, const char* dataset, const char* split, int64_t offset,
                            int64_t limit, int (*row)(void* user, int64_t index, const char* row_json),
                            void* user, wb_error* err);
  /* Inserts one comparison (the JSON shape of POST /v1/comparisons) into a preference dataset. */
  wb_status (*comparison_insert)(wb_job* job, const char* dataset, const char* comparison_json,
                                 wb_error* err);
  /* Registers a produced artifact. kind "model": {"name","path","config":{..},"dtype"};
   * kind "adapter": {"name","path","base_model","rank","alpha","target_modules":[..],"kind"};
   * kind "dataset": {"name","kind","rows":[...]} imported in one transaction. */
  wb_status (*register_artifact)(wb_job* job, const char* kind, const char* artifact_json,
                                 wb_error* err);
};

struct wb_plugin {
  uint32_t abi_version;          /* must be WB_PLUGIN_ABI_VERSION */
  const char* name;              /* "sft" */
  const char* version;           /* "0.1.0" */
  const char* const* job_kinds;  /* NULL-terminated: {"pretrain", "sft", NULL}; may be empty */

  /* Once, before anything else. config_json: {"device":"auto|cpu|cuda","threads":N,...}. */
  wb_status (*init)(const abi_v2::wb_host* host, const char* config_json, wb_error* err);

  /* At submission: checks a spec for `kind` without running it (WB_INVALID names the field).
   * May be NULL (no validation beyond JSON syntax). */
  wb_status (*validate)(const char* kind, const char* spec_json, wb_error* err);

  /* Runs one job to its end on the calling thread. spec_json is the submitted spec plus
   * "job_id" and, when resuming, "resume_from". Returns WB_OK, WB_CANCELLED, WB_INTERRUPTED or an
   * error status. */
  wb_status (*run)(wb_job* job, const char* kind, const char* spec_json, wb_error* err);

  /* Once, before dlclose; no job is running. */
  void (*shutdown)(void);

  /* NULL unless the plugin serves requests. */
  const wb_serving* serving;
  /* ---- since ABI 2: synchronous calls beside jobs ----
   * `methods` is NULL-terminated ({"reward.score", NULL}) or NULL. The daemon maps a route to a
   * method name and calls invoke() on one of its worker threads, several at once (invoke must be
   * thread-safe); the answer is JSON, delivered once through `emit` before WB_OK is returned.
   * There is no job: host functions taking a wb_job* are called with NULL (lookup and
   * dataset_rows accept it; job reporting calls ignore it). Errors as everywhere: WB_INVALID names
   * the field, WB_NOT_FOUND names the missing object. May be NULL when `methods` is. */
  const char* const* methods;
  wb_status (*invoke)(const char* method, const char* request_json, wb_emit_fn emit, void* user,
                      wb_error* err);
};

// ABI 3 put struct_size in the padding after abi_version: every later field keeps its offset, and
// ABI 3's fields appended since (estimate, job_fields_json, ...) lie beyond the end of ABI 2's struct.
static_assert(offsetof(wb_plugin, name) == offsetof(::wb_plugin, name) &&
                  offsetof(wb_plugin, invoke) == offsetof(::wb_plugin, invoke) &&
                  sizeof(wb_plugin) == offsetof(::wb_plugin, estimate),
              "ABI 2's wb_plugin must be ABI 3's with struct_size in the padding");

}  // namespace wb::daemon::abi_v2
