// /v1/jobs: submit (plugin validate() and estimate()), list, show with latest metrics, cancel,
// retry (release a held job), metrics.
#include <cstring>

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
void check_memory(App& app, const wb_plugin* p, const std::string& kind, const std::string& spec_text) {
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
  const std::uint64_t need = est["bytes"].get<std::uint64_t>();
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
                     (parts.empty() ? "" : ": " + parts) + ") but " + budget.source + " allows " +
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

}  // namespace

Response job_create(App& app, Request& req) {
  json body = parse_json_body(req.body);
  JsonReader f = body_fields(body, {"kind", "spec", "priority"});
  std::string kind = f.string("kind");
  json spec = body.contains("spec") ? f.object("spec") : json::object();
  int priority = static_cast<int>(f.integer_or("priority", 0, -1000, 1000));
  const wb_plugin* p = app.plugins.for_kind(kind);
  if (!p) {
    std::string kinds;
    for (auto& k : app.plugins.kinds()) kinds += (kinds.empty() ? "" : ", ") + k;
    throw ApiError(422, "unsupported_job_kind", "no loaded plugin runs job kind '" + kind +
                                                    "' (loaded kinds: " + (kinds.empty() ? "none" : kinds) + ")");
  }
  if (spec.contains("job_id") || spec.contains("resume_from"))
    throw invalid_request(std::string("field 'spec.") + (spec.contains("job_id") ? "job_id" : "resume_from") +
                          "': set by the daemon, not by the client");
  // The launcher fields are the daemon's (slurm_launcher.h); the plugin sees the rest.
  json plugin_spec = spec;
  LaunchSpec launch;
  try {
    launch = take_launch_fields(plugin_spec);
  } catch (const std::invalid_argument& e) {
    throw invalid_request(e.what());
  }
  if (launch.slurm) check_slurm_ready(app);
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
  if (!launch.slurm) check_memory(app, p, kind, plugin_spec.dump(-1, ' ', false, json::error_handler_t::replace));
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

Response job_retry(App& app, Request& req) {
  if (!req.body.empty()) {
    json body = parse_json_body(req.body);
    body_fields(body, {});
  }
  return json_response(200, app.scheduler.retry(job_id_param(req)));
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
