// /v1/annotators: annotators with their own bearer tokens for the web labeling page
// (docs/WEB.md). The token is answered once, at creation; only its hash is stored.
#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/json_body.h"

namespace wb::daemon::handlers {

using nlohmann::json;

Response annotator_add(App& app, Request& req) {
  json body = parse_json_body(req.body);
  JsonReader r = body_fields(body, {"name"});
  const std::string name = r.string("name");
  auto added = app.store.annotators().add(name);
  json out = added.annotator;
  out["token"] = added.token;
  return json_response(201, out);
}

Response annotator_list(App& app, Request&) {
  return json_response(200, {{"annotators", app.store.annotators().list()}});
}

Response annotator_remove(App& app, Request& req) {
  app.store.annotators().remove(req.params["name"]);
  return json_response(200, {{"deleted", req.params["name"]}});
}

// The calling annotator's own counts: labels per preference dataset and their mean time.
Response annotator_me(App& app, Request& req) {
  if (!req.annotator)
    throw invalid_request("GET /v1/annotators/me needs an annotator's token (Authorization: Bearer <token>)");
  auto rec = app.store.annotators().get(*req.annotator);
  json datasets = json::object();
  double seconds = 0;
  std::int64_t timed = 0;
  const auto page = app.store.comparisons().list(std::nullopt, 0, 0);
  for (const auto& c : page.comparisons) {
    if (c.annotator != *req.annotator) continue;
    datasets[c.dataset] = datasets.value(c.dataset, 0) + 1;
    if (c.seconds) seconds += *c.seconds, ++timed;
  }
  json out = rec;
  out["datasets"] = datasets;
  out["mean_seconds"] = timed ? json(seconds / timed) : json(nullptr);
  return json_response(200, out);
}

}  // namespace wb::daemon::handlers
