// Plugin methods over HTTP: /v1/rewards/score (the reward plugin's reward.score) and
// /v1/methods/{method}, which reaches any loaded plugin's method by its name. The body is passed
// through as is; the plugin validates every field (unknown ones included) and its statuses become
// HTTP codes in invoke_method (plugin_invoke.h).
#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/json_body.h"
#include "plugins/plugin_invoke.h"

namespace wb::daemon::handlers {

Response reward_score(App& app, Request& req) {
  const nlohmann::json body = parse_json_body(req.body);
  if (!body.is_object()) throw invalid_request("body: expected a JSON object");
  return json_response(200, invoke_method(app.plugins, "reward.score", body));
}

Response method_call(App& app, Request& req) {
  const nlohmann::json body = parse_json_body(req.body);
  if (!body.is_object()) throw invalid_request("body: expected a JSON object");
  return json_response(200, invoke_method(app.plugins, req.params.at("method"), body));
}

}  // namespace wb::daemon::handlers
