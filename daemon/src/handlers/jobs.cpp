// /v1/jobs: submit (plugin validate()), list, show with latest metrics, cancel, metrics.
#include <cstring>

#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/json_body.h"
#include "plugins/plugin_status.h"

namespace wb::daemon::handlers {

using nlohmann::json;

std::int64_t job_id_param(Request& req) { return query_int("id", req.params["id"], 1, INT64_MAX); }

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
  if (p->validate) {
    wb_error err{};
    std::string text = spec.dump(-1, ' ', false, json::error_handler_t::replace);
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
      throw invalid_request("query parameter 'state': expected queued, running, succeeded, failed or cancelled, got '" +
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
