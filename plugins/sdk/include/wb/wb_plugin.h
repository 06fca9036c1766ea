/*
 * wb_plugin.h — the C ABI between workbenchd and its plugins. The only contract between them.
 *
 * A plugin is a shared object exporting one symbol:
 *
 *     WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void);
 *
 * The daemon dlopens every *.so in its plugin directories, calls wb_plugin_entry, and accepts a
 * module whose abi_version lies in [WB_PLUGIN_ABI_MIN_VERSION, WB_PLUGIN_ABI_VERSION]; outside
 * that range it is refused with both numbers named. The host then calls init() once with a table
 * of host functions and a context pointer that every host function takes back as its first
 * argument (SQLite's loadable-extension model: no process-wide state on the daemon's side). That
 * table is the plugin's only channel to the daemon, so a job can later run in a worker process
 * with the calls forwarded over a pipe, without the plugin changing.
 *
 * Growing the ABI (the append-only rule):
 *   - every struct here begins with abi_version/struct_size (wb_serving: struct_size), filled with
 *     sizeof() of the struct as its builder compiled it;
 *   - a field is only ever appended at the end of a struct, never inserted, removed, reordered or
 *     retyped; a wb_status value is only ever added;
 *   - a reader reads a field only when the writer's struct_size covers it (WB_STRUCT_HAS): the
 *     daemon for wb_plugin and wb_serving, a plugin for wb_host. A field beyond a shorter struct is
 *     absent (NULL, 0);
 *   - appending fields does not change WB_PLUGIN_ABI_VERSION; an incompatible change (a changed
 *     signature, a removed field) bumps it, and the daemon keeps serving the versions it still
 *     supports by translating them (see WB_PLUGIN_ABI_MIN_VERSION).
 *
 * Rules at the boundary:
 *   - strings are UTF-8; structured values are JSON text;
 *   - every call returns a wb_status; on failure the callee writes a message into the caller's
 *     wb_error (memory owned by the caller);
 *   - no C++ object, exception or allocation crosses: strings coming back are delivered through a
 *     wb_emit_fn callback and are valid only during that callback;
 *   - a plugin must not throw out of any function here (catch everything at the boundary).
 */
#ifndef WB_PLUGIN_H
#define WB_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change to a struct or function signature in this file.
 * 1: jobs and serving. 2: adds wb_plugin.methods / invoke (synchronous calls beside jobs).
 * 3: wb_plugin.struct_size; every host function takes wb_host.ctx first; statuses WB_IO,
 *    WB_NO_MEMORY and WB_UNSUPPORTED. */
#define WB_PLUGIN_ABI_VERSION 3
/* The oldest version the daemon still loads (an ABI 2 plugin gets the ABI 2 host table). */
#define WB_PLUGIN_ABI_MIN_VERSION 2

/* Whether a struct of the writer's struct_size holds `field`:
 *   if (WB_STRUCT_HAS(host, wb_host, register_artifact)) ... */
#define WB_STRUCT_HAS(ptr, type, field) \
  ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type*)0)->field))

#if defined(__GNUC__)
#define WB_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define WB_PLUGIN_EXPORT
#endif

typedef enum wb_status {
  WB_OK = 0,
  WB_ERROR = 1,        /* failure; message in wb_error */
  WB_INVALID = 2,      /* the caller's input is wrong (bad spec field, bad JSON) */
  WB_NOT_FOUND = 3,    /* a named thing (model, dataset, adapter, request) does not exist */
  WB_CANCELLED = 4,    /* the job or request was cancelled and stopped cleanly */
  WB_BUSY = 5,         /* capacity exhausted (serving queue full); try again later */
  WB_INTERRUPTED = 6,  /* stopped for shutdown after writing a checkpoint; resume later */
  /* since ABI 3: the cause of a failure, so the daemon answers with a fitting HTTP code */
  WB_IO = 7,           /* reading or writing a file failed (permissions, disk full, short read) */
  WB_NO_MEMORY = 8,    /* the host or the device cannot hold the work */
  WB_UNSUPPORTED = 9,  /* valid, but not on this device or build (cuda without a GPU) */
  /* appended in ABI 3: the disk (or the user's quota) is full. From run(): a checkpoint could not
   * be written; the previous complete checkpoint is left intact and recorded, and the daemon holds
   * the job (state "held") until a person frees space and retries it. */
  WB_NO_SPACE = 10
} wb_status;

/* Error text written by the callee into storage owned by the caller. */
#define WB_ERROR_CAPACITY 1024
typedef struct wb_error {
  char message[WB_ERROR_CAPACITY]; /* NUL-terminated */
} wb_error;

/* Copies `message` into `err`, truncated to fit and always NUL-terminated; `err` may be NULL. */
static inline void wb_error_set(wb_error* err, const char* message) {
  size_t n = 0;
  if (!err) return;
  while (message && message[n] && n < WB_ERROR_CAPACITY - 1) {
    err->message[n] = message[n];
    ++n;
  }
  err->message[n] = 0;
}

/* Delivers a string (usually JSON) to the caller; `text` is valid only during the call. */
typedef void (*wb_emit_fn)(void* user, const char* text);

/* Opaque per-job handle the host passes to run() and expects back on every host call. */
typedef struct wb_job wb_job;

typedef enum wb_log_level { WB_LOG_DEBUG = 0, WB_LOG_INFO = 1, WB_LOG_WARN = 2, WB_LOG_ERROR = 3 } wb_log_level;

/* --------------------------------------------------------------------------------------------
 * Host table: what the daemon offers a plugin. Valid from init() until shutdown() returns.
 * All functions are thread-safe. Functions taking a wb_job* may only be called while that job's
 * run() is executing.
 * ------------------------------------------------------------------------------------------ */
typedef struct wb_host {
  uint32_t abi_version; /* the daemon's WB_PLUGIN_ABI_VERSION */
  uint32_t struct_size; /* sizeof(wb_host) as the host was built */
  /* The daemon's context: pass it as the first argument of every function below. */
  void* ctx;

  /* Daemon-wide log line (no job). */
  void (*log)(void* ctx, wb_log_level level, const char* message);

  /* ---- job reporting ---- */
  void (*job_log)(void* ctx, wb_job* job, wb_log_level level, const char* message);
  /* fraction in [0,1]; phase is a short word ("train", "eval", "save"). */
  void (*job_progress)(void* ctx, wb_job* job, double fraction, const char* phase);
  /* One scalar (train_loss, eval_loss, lr, tokens_per_s, ...) at an optimizer step. */
  void (*job_metric)(void* ctx, wb_job* job, int64_t step, const char* name, double value);
  /* Nonzero once the job was cancelled or the daemon is shutting down. Check every step. */
  int (*job_cancelled)(void* ctx, wb_job* job);
  /* Nonzero when the stop is a shutdown (checkpoint and return WB_INTERRUPTED), zero for a
   * user cancel (return WB_CANCELLED). */
  int (*job_shutting_down)(void* ctx, wb_job* job);
  /* Records the path of the job's latest complete checkpoint (persisted before returning), so a
   * daemon restart resumes from it: the next run() gets it as spec field "resume_from". */
  wb_status (*job_checkpoint)(void* ctx, wb_job* job, const char* checkpoint_path, wb_error* err);
  /* A directory owned by this job for checkpoints and outputs (created by the host). */
  const char* (*job_dir)(void* ctx, wb_job* job);

  /* ---- data ---- */
  /* The daemon's data directory (absolute path). */
  const char* (*data_dir)(void* ctx);
  /* Looks up a registered object; kind is "model", "adapter" or "dataset". Emits its JSON record
   * (same shape as the HTTP API returns) or answers WB_NOT_FOUND. `job` may be NULL (e.g. from
   * validate(), to reject a spec naming an unknown model at submission). */
  wb_status (*lookup)(void* ctx, wb_job* job, const char* kind, const char* name, wb_emit_fn emit, void* user,
                      wb_error* err);
  /* Iterates a dataset's rows in row order; split is "train", "eval" or NULL for all. Each row is
   * emitted as its JSON object. The callback returns nonzero to stop early. */
  wb_status (*dataset_rows)(void* ctx, wb_job* job, const char* dataset, const char* split, int64_t offset,
                            int64_t limit, int (*row)(void* user, int64_t index, const char* row_json),
                            void* user, wb_error* err);
  /* Inserts one comparison (the JSON shape of POST /v1/comparisons) into a preference dataset. */
  wb_status (*comparison_insert)(void* ctx, wb_job* job, const char* dataset, const char* comparison_json,
                                 wb_error* err);
  /* Registers a produced artifact. kind "model": {"name","path","config":{..},"dtype"};
   * kind "adapter": {"name","path","base_model","rank","alpha","target_modules":[..],"kind"};
   * kind "dataset": {"name","kind","rows":[...]} imported in one transaction. */
  wb_status (*register_artifact)(void* ctx, wb_job* job, const char* kind, const char* artifact_json,
                                 wb_error* err);
} wb_host;

/* --------------------------------------------------------------------------------------------
 * Serving table: filled by a plugin that serves requests (plugins/serve). All functions are
 * thread-safe and return quickly; generation happens on the plugin's own threads.
 * ------------------------------------------------------------------------------------------ */

/* Called from a plugin thread for each event of a request, in order:
 *   {"type":"token","text":"...","token_id":N}
 *   {"type":"done","finish_reason":"stop|length|cancelled|error","usage":{...},"error":"..."}
 * Return nonzero to cancel the request (client went away). No call follows "done". */
typedef int (*wb_request_event_fn)(void* user, const char* event_json);

typedef struct wb_serving {
  uint32_t struct_size;
  /* {"name","path","max_batch","max_context","max_adapters","device"} — replaces any resident model. */
  wb_status (*load_model)(const char* model_json, wb_error* err);
  wb_status (*unload_model)(wb_error* err);
  /* {"name","path","scale"}: validated and converted off the decode thread, then published
   * atomically; a name already loaded is replaced for new requests only. */
  wb_status (*load_adapter)(const char* adapter_json, wb_error* err);
  /* New requests naming it fail at once; running ones keep it until they end. */
  wb_status (*unload_adapter)(const char* name, wb_error* err);
  /* request_json: {"prompt" | "messages", "adapter", "adapter_scale", "max_tokens", "temperature",
   * "top_p", "top_k", "seed", "stop":[..]}. On WB_OK *request_id identifies it for cancel(). */
  wb_status (*submit)(const char* request_json, wb_request_event_fn on_event, void* user,
                      uint64_t* request_id, wb_error* err);
  wb_status (*cancel)(uint64_t request_id);
  /* Emits {"model":..,"adapters":[{"name","refs",..}],"running":N,"queued":N,"tokens_per_s":x}. */
  wb_status (*stats)(wb_emit_fn emit, void* user, wb_error* err);
} wb_serving;

/* --------------------------------------------------------------------------------------------
 * The plugin: what wb_plugin_entry returns. Static storage, valid while the module is loaded.
 * ------------------------------------------------------------------------------------------ */
typedef struct wb_plugin {
  uint32_t abi_version;          /* WB_PLUGIN_ABI_VERSION as the plugin was built */
  uint32_t struct_size;          /* sizeof(wb_plugin) as the plugin was built (since ABI 3) */
  const char* name;              /* "sft" */
  const char* version;           /* "0.1.0" */
  const char* const* job_kinds;  /* NULL-terminated: {"pretrain", "sft", NULL}; may be empty */

  /* Once, before anything else. config_json: {"device":"auto|cpu|cuda","threads":N,...}.
   * `host` and host->ctx stay valid until shutdown() returns. */
  wb_status (*init)(const wb_host* host, const char* config_json, wb_error* err);

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
  /* ---- appended in ABI 3 (read only when struct_size covers it) ----
   * At submission, after validate() accepted the spec: the peak host memory running it needs,
   * emitted once as JSON {"bytes": N, "parts": {"weights": N, "optimizer": N, "activations": N,
   * "kv": N, ...}} (bytes; parts name what the plugin counted). The daemon refuses a job whose
   * estimate exceeds what the machine (MemAvailable, the cgroup's memory.max) or its configured
   * jobs.max_job_memory leaves, naming both numbers. A kind the plugin does not estimate emits
   * {"bytes": 0}. May be NULL (no estimate: nothing is checked). */
  wb_status (*estimate)(const char* kind, const char* spec_json, wb_emit_fn emit, void* user, wb_error* err);
  /* ---- appended in ABI 3: each job kind's spec fields, as data ----
   * NULL (nothing declared) or JSON text, static while the module is loaded:
   *   {"<kind>": {"help": "one line", "fields": [{"name": "lr", "type": "number", "required": false,
   *     "default": 0.001, "help": "one line", "choices": [...]?, "min": x?, "max": x?}, ...]}, ...}
   * type is string | integer | number | boolean | strings (a list of strings, or one) | object |
   * array; "default" is absent when the field is required or has none (its help then says what
   * applies). The daemon serves it (GET /v1/job-kinds) and `wb train <kind> --help` prints it. A
   * C++ plugin declares the table once with the kit (wb/plugin/fields.h) and validates its specs
   * through the same table, so what is documented is what is accepted. */
  const char* job_fields_json;
} wb_plugin;

typedef const wb_plugin* (*wb_plugin_entry_fn)(void);
#define WB_PLUGIN_ENTRY_SYMBOL "wb_plugin_entry"

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WB_PLUGIN_H */
