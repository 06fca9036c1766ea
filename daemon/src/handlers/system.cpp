// GET /v1/health, GET /v1/status, GET /metrics.
#include <unistd.h>

#include "handlers/handlers.h"
#include "http/request_metrics.h"

namespace wb::daemon::handlers {

using nlohmann::json;

static const char* kVersion = "0.1.0";

Response json_response(int status, const json& body) {
  Response r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

Response health(App&, Request&) {
  return json_response(200, {{"status", "ok"}, {"version", kVersion}, {"pid", ::getpid()}});
}

static json job_counts(App& app) {
  json j = json::object();
  for (auto& [state, n] : app.store.jobs().counts()) j[std::string(storage::to_string(state))] = n;
  return j;
}

Response status(App& app, Request&) {
  json plugins = json::array();
  for (auto& p : app.plugins.plugins()) plugins.push_back(to_json_value(p));
  auto up = std::chrono::duration<double>(std::chrono::steady_clock::now() - app.started).count();
  json j = {{"version", kVersion},
            {"pid", ::getpid()},
            {"uptime_s", up},
            {"data_dir", app.config.data_dir.string()},
            {"socket", app.config.socket.string()},
            {"config", app.config.source.empty() ? json() : json(app.config.source.string())},
            {"device", std::string(config::to_string(app.config.device))},
            {"plugins", plugins},
            {"models", app.store.models().count()},
            {"datasets", app.store.datasets().count()},
            {"adapters", app.store.adapters().count()},
            {"jobs", job_counts(app)},
            {"serving", nullptr}};
  if (app.serving.available()) j["serving"] = app.serving.stats();
  if (app.shutting_down) j["shutting_down"] = true;
  return json_response(200, j);
}

Response prometheus(App& app, Request&) {
  Response r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = app.requests.render();
  r.body += "# HELP workbench_jobs Jobs by state.\n# TYPE workbench_jobs gauge\n";
  for (auto& [state, n] : app.store.jobs().counts())
    r.body += "workbench_jobs{state=\"" + std::string(storage::to_string(state)) + "\"} " + std::to_string(n) + "\n";
  r.body += "# HELP workbench_event_watchers Open job event streams.\n# TYPE workbench_event_watchers gauge\n";
  r.body += "workbench_event_watchers " + std::to_string(app.events.hub().listener_count()) + "\n";
  r.body += "# HELP workbench_plugins Plugins by load status.\n# TYPE workbench_plugins gauge\n";
  int ok = 0, bad = 0;
  for (auto& p : app.plugins.plugins()) (p.loaded ? ok : bad)++;
  r.body += "workbench_plugins{status=\"loaded\"} " + std::to_string(ok) + "\n";
  r.body += "workbench_plugins{status=\"error\"} " + std::to_string(bad) + "\n";
  r.body += app.serving.metrics()->render();
  if (app.serving.available()) r.body += render_plugin_gauges(app.serving.stats());
  return r;
}

}  // namespace wb::daemon::handlers
