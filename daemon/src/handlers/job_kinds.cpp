// GET /v1/job-kinds and /v1/job-kinds/{kind}: every job kind of every loaded plugin with the fields
// its spec accepts, as the plugin declared them (wb_plugin::job_fields_json). `wb train <kind>
// --help` prints the same.
#include "handlers/app.h"
#include "handlers/handlers.h"
#include "http/api_error.h"

namespace wb::daemon::handlers {

using nlohmann::json;

namespace {

json describe(const PluginInfo& p, const std::string& kind) {
  json d = {{"kind", kind}, {"plugin", p.name}};
  if (auto it = p.job_fields.find(kind); it != p.job_fields.end()) {
    d["help"] = it->value("help", "");
    d["fields"] = it->at("fields");
  } else {
    d["fields"] = nullptr;  // the plugin declares no fields for this kind
  }
  return d;
}

}  // namespace

Response job_kind_list(App& app, Request&) {
  json kinds = json::array();
  for (const auto& p : app.plugins.plugins())
    if (p.loaded)
      for (const auto& k : p.job_kinds) kinds.push_back(describe(p, k));
  return json_response(200, {{"job_kinds", kinds}});
}

Response job_kind_show(App& app, Request& req) {
  const std::string& kind = req.params["kind"];
  for (const auto& p : app.plugins.plugins())
    if (p.loaded)
      for (const auto& k : p.job_kinds)
        if (k == kind) return json_response(200, describe(p, k));
  throw not_found("no loaded plugin runs job kind '" + kind + "'");
}

}  // namespace wb::daemon::handlers
