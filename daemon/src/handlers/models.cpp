// GET /v1/models[/{name}] (models are created by plugin jobs; adapters: serving.cpp).
#include "handlers/handlers.h"

namespace wb::daemon::handlers {

using nlohmann::json;

// Beside the registry ("models"), the names a completion request may use, in OpenAI's list
// shape ("object":"list","data":[{"id","object":"model",...}]) for OpenAI client libraries: the
// resident base model and every loaded adapter.
Response model_list(App& app, Request&) {
  json data = json::array();
  if (app.serving.available()) {
    json stats = app.serving.stats();
    auto base = Serving::model_name(stats);
    auto entry = [](const std::string& id, const std::string& parent) {
      json e = {{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "workbench"}};
      if (!parent.empty()) e["parent"] = parent;
      return e;
    };
    if (base) data.push_back(entry(*base, ""));
    if (base && stats.contains("adapters") && stats["adapters"].is_array())
      for (auto& a : stats["adapters"])
        if (a.is_object() && a.contains("name") && a["name"].is_string() && a.value("resident", true))
          data.push_back(entry(a["name"].get<std::string>(), *base));
  }
  return json_response(200, {{"models", app.store.models().list()}, {"object", "list"}, {"data", data}});
}

Response model_show(App& app, Request& req) {
  return json_response(200, app.store.models().get(req.params["name"]));
}

}  // namespace wb::daemon::handlers
