// /v1/models and /v1/adapters (read side; import/init and load/unload come with the engine and
// serving work).
#include "handlers/handlers.h"

namespace wb::daemon::handlers {

using nlohmann::json;

Response model_list(App& app, Request&) { return json_response(200, {{"models", app.store.models().list()}}); }

Response model_show(App& app, Request& req) {
  return json_response(200, app.store.models().get(req.params["name"]));
}

Response adapter_list(App& app, Request&) {
  json list = json::array();
  for (auto& a : app.store.adapters().list()) {
    json j = a;
    j["loaded"] = false;  // no serving plugin is wired in yet
    list.push_back(j);
  }
  return json_response(200, {{"adapters", list}});
}

}  // namespace wb::daemon::handlers
