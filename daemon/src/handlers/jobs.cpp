// /v1/jobs: submit (plugin validate() and estimate()), list, show with latest metrics, cancel,
// retry (release a held job), metrics.
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/json_body.h"
#include "jobs/memory_budget.h"
#include "jobs/run_command.h"
#include "jobs/slurm_launcher.h"
#include "plugins/plugin_status.h"

namespace wb::daemon::handlers {

using nlohmann::json;

std::int64_t job_id_param(Request& req) { return query_int("id", req.params["id"], 1, INT64_MAX); }

namespace {

// The plugin's memory estimate for a spec it accepted, against the machine's room and the
// configured cap: 507 out_of_memory naming both numbers when it does not fit.
void check_memory(App& app, const wb_plugin* p, const std::string& kind, const std::string& spec_text, int ranks) {
  if (!WB_STRUCT_HAS(p, wb_plugin, estimate) || !p->estimate) return;
  std::string out;
  wb_error err{};
  wb_status st = p->estimate(kind.c_str(), spec_text.c_str(),
                             [](void* user, const char* text) { *static_cast<std::string*>(user) = text ? text : ""; },
                             &out, &err);
  err.message[WB_ERROR_CAPACITY - 1] = 0;
  if (st != WB_OK) {
    const std::string msg = std::string("estimating the job's memory: ") + (err.message[0] ? err.message : "failed");
    if (st == WB_ERROR || st == WB_IO) throw invalid_request(msg);
    throw plugin_failure(st, msg, unavailable(msg));
  }
  json est = json::parse(out, nullptr, false);
  if (est.is_discarded() || !est.is_object() || !est.contains("bytes") || !est["bytes"].is_number_unsigned())
    throw ApiError(500, "plugin_error", "the plugin's memory estimate is not {\"bytes\": N, ...}");
  // Every rank of a data-parallel job holds its own copy on this machine.
  const std::uint64_t need = est["bytes"].get<std::uint64_t>() * static_cast<std::uint64_t>(ranks);
  if (need == 0) return;
  MemoryBudget budget = job_memory_budget(app.config.jobs.max_job_memory);
  if (!budget.bytes || need <= *budget.bytes) return;
  std::string parts;
  if (est.contains("parts") && est["parts"].is_object())
    for (auto& [name, v] : est["parts"].items())
      if (v.is_number_unsigned() && v.get<std::uint64_t>() > 0)
        parts += (parts.empty() ? "" : ", ") + name + " " + human_bytes(v.get<std::uint64_t>());
  throw ApiError(507, "out_of_memory",
                 "the job needs about " + human_bytes(need) + " (" + std::to_string(need) + " bytes" +
                     (parts.empty() ? "" : ": " + parts) + (ranks > 1 ? ", for " + std::to_string(ranks) + " ranks" : "") +
                     ") but " + budget.source + " allows " +
                     human_bytes(*budget.bytes) + " (" + std::to_string(*budget.bytes) +
                     " bytes); lower batch_size or context_length");
}

// launcher = "slurm" needs a way back for the worker and Slurm's client commands.
void check_slurm_ready(App& app) {
  if (!app.config.tcp.enabled || app.config.tcp.token.empty())
    throw ApiError(422, "slurm_unavailable",
                   "field 'spec.launcher': \"slurm\" needs the daemon's TCP listener with a token, which Slurm "
                   "workers report back through: set [tcp] enabled = true and tcp.token in the daemon's config");
  if (!on_path("sbatch"))
    throw ApiError(422, "slurm_unavailable",
                   "field 'spec.launcher': \"slurm\" needs Slurm's sbatch on the daemon's PATH; it is not there");
}

// world > 1: the job runs as MPI ranks in wb-worker processes (mpi_launcher.h), which needs
// process isolation, a kind that declares the field (it builds its collectives from it) and mpirun.
void check_world(App& app, const std::string& kind, int world) {
  const std::string field = "field 'spec.world': ";
  if (app.config.jobs.isolation == config::Isolation::InProcess)
    throw invalid_request(field + "world > 1 runs the job as " + std::to_string(world) +
                          " MPI ranks in wb-worker processes, but this daemon runs jobs inside itself "
                          "(jobs.isolation = \"in_process\")");
  bool declared = false;
  for (const auto& p : app.plugins.plugins())
    if (p.loaded)
      if (auto it = p.job_fields.find(kind); it != p.job_fields.end() && it->contains("fields"))
        for (const auto& f : it->at("fields"))
          if (f.is_object() && f.value("name", "") == "world") declared = true;
  if (!declared)
    throw invalid_request(field + "job kind '" + kind +
                          "' does not run data-parallel (its plugin declares no 'world' field); it runs as one process");
  const std::string& mpirun = app.config.jobs.mpirun;
  const bool found = mpirun.find('/') != std::string::npos ? ::access(mpirun.c_str(), X_OK) == 0 : on_path(mpirun);
  if (!found)
    throw ApiError(422, "mpi_unavailable",
                   field + "world > 1 starts the ranks with " + mpirun + ", which is not " +
                       (mpirun.find('/') != std::string::npos ? std::string("an executable file")
                                                              : std::string("on the daemon's PATH")) +
                       " (install OpenMPI, or set jobs.mpirun)");
}

// Everything submission checks of a spec for `kind` (served by `p`): the daemon's launcher fields,
// the plugin's validate() and the memory estimate. Throws the API error naming the field.
LaunchSpec check_spec(App& app, const std::string& kind, const wb_plugin* p, const json& spec) {
  // The launcher fields are the daemon's (slurm_launcher.h); the plugin sees the rest.
  json plugin_spec = spec;
  LaunchSpec launch;
  try {
    launch = take_launch_fields(plugin_spec);
  } catch (const std::invalid_argument& e) {
    throw invalid_request(e.what());
  }
  if (launch.slurm) check_slurm_ready(app);
  if (launch.world > 1) check_world(app, kind, launch.world);
  if (p->validate) {
    wb_error err{};
    std::string text = plugin_spec.dump(-1, ' ', false, json::error_handler_t::replace);
    wb_status st = p->validate(kind.c_str(), text.c_str(), &err);
    err.message[WB_ERROR_CAPACITY - 1] = 0;
    if (st != WB_OK) {
      const std::string msg = err.message[0] ? err.message : "the plugin rejected the spec without a message";
      // A spec the plugin cannot accept is the client's to fix (400), whatever went wrong while
      // checking it (a path it cannot read, ...), unless the status says otherwise.
      if (st == WB_ERROR || st == WB_IO) throw invalid_request(msg);
      throw plugin_failure(st, msg, unavailable(msg));
    }
  }
  // A Slurm job runs on a cluster node: this machine's memory says nothing about it.
  if (!launch.slurm)
    check_memory(app, p, kind, plugin_spec.dump(-1, ' ', false, json::error_handler_t::replace), launch.world);
  return launch;
}

// A training checkpoint (wb/llama/checkpoint.h: checkpoint.json) records in its data position
// the world that wrote it ("world", absent: 1). Resuming it with another world needs reshard.
void check_checkpoint_world(const std::string& checkpoint, int world) {
  std::ifstream in(std::filesystem::path(checkpoint) / "checkpoint.json");
  if (!in) return;  // not a training checkpoint: the plugin judges it
  std::stringstream ss;
  ss << in.rdbuf();
  const json c = json::parse(ss.str(), nullptr, false);
  if (!c.is_object() || !c.contains("data_position") || !c["data_position"].is_object()) return;
  const json& pos = c["data_position"];
  const std::int64_t written = pos.contains("world") && pos["world"].is_number_integer() ? pos["world"].get<std::int64_t>() : 1;
  if (written == world) return;
  throw invalid_request("field 'spec.world': checkpoint was written by " + std::to_string(written) + " rank" +
                        (written == 1 ? "" : "s") + "; this run has " + std::to_string(world) +
                        ": set reshard=true to continue from its step with " + std::to_string(world) + " rank" +
                        (world == 1 ? "" : "s"));
}

const wb_plugin* plugin_for(App& app, const std::string& kind) {
  const wb_plugin* p = app.plugins.for_kind(kind);
  if (!p) {
    std::string kinds;
    for (auto& k : app.plugins.kinds()) kinds += (kinds.empty() ? "" : ", ") + k;
    throw ApiError(422, "unsupported_job_kind", "no loaded plugin runs job kind '" + kind +
                                                    "' (loaded kinds: " + (kinds.empty() ? "none" : kinds) + ")");
  }
  return p;
}

}  // namespace

Response job_create(App& app, Request& req) {
  json body = parse_json_body(req.body);
  JsonReader f = body_fields(body, {"kind", "spec", "priority"});
  std::string kind = f.string("kind");
  json spec = body.contains("spec") ? f.object("spec") : json::object();
  int priority = static_cast<int>(f.integer_or("priority", 0, -1000, 1000));
  const wb_plugin* p = plugin_for(app, kind);
  if (spec.contains("job_id") || spec.contains("resume_from"))
    throw invalid_request(std::string("field 'spec.") + (spec.contains("job_id") ? "job_id" : "resume_from") +
                          "': set by the daemon, not by the client");
  check_spec(app, kind, p, spec);
  if (app.shutting_down) throw unavailable("the daemon is shutting down");
  storage::JobRecord rec = app.store.jobs().create(kind, spec, priority);
  app.scheduler.wake();
  return json_response(201, rec);
}

Response job_list(App& app, Request& req) {
  for (auto& [k, v] : req.query)
    if (k != "state" && k != "limit") throw invalid_request("unknown query parameter '" + k + "'");
  std::optional<storage::JobState> state;
  if (req.query.count("state")) {
    state = storage::parse_job_state(req.query["state"]);
    if (!state)
      throw invalid_request("query parameter 'state': expected queued, running, held, succeeded, failed or cancelled, got '" +
                            req.query["state"] + "'");
  }
  std::int64_t limit = query_int("limit", req.query_or("limit", "100"), 1, 100000);
  return json_response(200, {{"jobs", app.store.jobs().list(state, limit)}});
}

Response job_show(App& app, Request& req) {
  std::int64_t id = job_id_param(req);
  json j = app.store.jobs().get(id);
  json m = json::object();
  for (auto& [name, p] : app.store.metrics().latest(id)) m[name] = {{"step", p.step}, {"value", p.value}};
  j["metrics"] = m;
  return json_response(200, j);
}

Response job_cancel(App& app, Request& req) {
  return json_response(200, app.scheduler.cancel(job_id_param(req)));
}

// Optionally {"spec": {"world": N, "reshard": true}}: a held job may go on with another number
// of ranks (checked as at submission; the rest of its spec stays as submitted).
Response job_retry(App& app, Request& req) {
  const std::int64_t id = job_id_param(req);
  std::optional<json> spec;
  if (!req.body.empty()) {
    json body = parse_json_body(req.body);
    JsonReader f = body_fields(body, {"spec"});
    if (body.contains("spec")) {
      json changes = f.object("spec");
      storage::JobRecord job = app.store.jobs().get(id);
      spec = job.spec;
      for (auto& [k, v] : changes.items()) {
        if (k != "world" && k != "reshard")
          throw invalid_request("field 'spec." + k + "': only world and reshard may change when a job is retried");
        (*spec)[k] = v;
      }
      const LaunchSpec launch = check_spec(app, job.kind, plugin_for(app, job.kind), *spec);
      if (job.checkpoint && !spec->value("reshard", false)) check_checkpoint_world(*job.checkpoint, launch.world);
    }
  }
  return json_response(200, app.scheduler.retry(id, spec));
}

Response job_metrics(App& app, Request& req) {
  std::int64_t id = job_id_param(req);
  app.store.jobs().get(id);  // 404 for an unknown job
  for (auto& [k, v] : req.query)
    if (k != "name") throw invalid_request("unknown query parameter '" + k + "'");
  std::optional<std::string> name;
  if (req.query.count("name")) name = req.query["name"];
  auto pts = app.store.metrics().list(id, name ? std::optional<std::string_view>(*name) : std::nullopt);
  return json_response(200, {{"metrics", pts}});
}

}  // namespace wb::daemon::handlers
