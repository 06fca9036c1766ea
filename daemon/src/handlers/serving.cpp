// The serving lifecycle and the adapter registry's resident side (PROTOCOL.md "Serving"):
//   POST /v1/serving {"model", "max_batch"?, "max_context"?, "max_adapters"?, "max_queue"?,
//                     "device"?, "gpu_dtype"?, "batch_invariant"?}
//   GET /v1/serving     DELETE /v1/serving
//   POST /v1/adapters/{name}/load {"path"?, "scale"?}     POST /v1/adapters/{name}/unload
//   GET /v1/adapters    (registered adapters + whether each is resident)
// Loads run on the calling io thread: the plugin validates and converts before it answers.
#include <filesystem>
#include <set>

#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/json_body.h"
#include "serving/adapter_import.h"

namespace wb::daemon::handlers {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// The resident adapters of a stats() answer, by name (versions retired by a reload or unload but
// still held by running requests carry "resident": false and are left out).
std::map<std::string, json> resident_adapters(const json& stats) {
  std::map<std::string, json> out;
  if (stats.contains("adapters") && stats["adapters"].is_array())
    for (auto& a : stats["adapters"])
      if (a.is_object() && a.contains("name") && a["name"].is_string() && a.value("resident", true))
        out[a["name"].get<std::string>()] = a;
  return out;
}

json status_body(App& app) {
  json s = app.serving.stats();
  s["serving"] = Serving::model_name(s).has_value();
  return s;
}

}  // namespace

Response serving_start(App& app, Request& req) {
  json body = parse_json_body(req.body);
  JsonReader f = body_fields(body, {"model", "max_batch", "max_context", "max_adapters", "max_queue", "device", "gpu_dtype", "batch_invariant"});
  storage::ModelRecord m = app.store.models().get(f.string("model"));
  json load = Residency::default_load(app.config, m);
  load["max_batch"] = f.integer_or("max_batch", load["max_batch"].get<std::int64_t>(), 1, 4096);
  load["max_context"] = f.integer_or("max_context", load["max_context"].get<std::int64_t>(), 16, 1 << 20);
  load["max_adapters"] = f.integer_or("max_adapters", load["max_adapters"].get<std::int64_t>(), 0, 4096);
  if (f.has("max_queue")) load["max_queue"] = f.integer_or("max_queue", 0, 0, 1 << 20);
  // Where to serve: the request's device, else the daemon's setting. The plugin checks the value
  // and whether the device can run it (400 naming "device" otherwise).
  if (auto device = f.optional_string("device", /*allow_empty=*/true)) load["device"] = *device;
  if (auto dtype = f.optional_string("gpu_dtype", /*allow_empty=*/true)) load["gpu_dtype"] = *dtype;
  // Batch invariance: the request's choice, else the config's (default_load; off by default).
  if (auto inv = f.optional_boolean("batch_invariant")) load["batch_invariant"] = *inv;
  app.serving.load_model(load);
  return json_response(200, status_body(app));
}

Response serving_stop(App& app, Request&) {
  auto name = Serving::model_name(app.serving.stats());
  if (!name) throw conflict("no model is being served");
  app.serving.unload_model();
  return json_response(200, {{"stopped", *name}});
}

Response serving_status(App& app, Request&) { return json_response(200, status_body(app)); }

Response adapter_load(App& app, Request& req) {
  const std::string name = req.params["name"];
  json body = req.body.empty() ? json::object() : parse_json_body(req.body);
  JsonReader f = body_fields(body, {"path", "scale"});
  auto base = Serving::model_name(app.serving.stats());
  if (!base) throw unavailable("no model is being served; start one with `wb serve start --model NAME`");
  std::optional<double> scale;
  if (f.has("scale")) scale = f.number_or("scale", 1, 0, 100);
  auto path = f.optional_string("path", /*allow_empty=*/true);
  auto registered = app.store.adapters().find(name);
  if (registered) {
    if (path && fs::path(*path).lexically_normal() != fs::path(registered->path).lexically_normal())
      throw conflict("adapter '" + name + "' is registered at " + registered->path +
                     "; load it without \"path\" (its files are read again) or choose another name");
    if (registered->base_model != *base)
      throw conflict("adapter '" + name + "' was trained on model '" + registered->base_model + "' but '" + *base +
                     "' is being served");
    json load = {{"name", name}, {"path", registered->path}};
    if (scale) load["scale"] = *scale;
    app.serving.load_adapter(load);
  } else {
    if (!path)
      throw not_found("adapter '" + name + "' is not registered; give \"path\" to a PEFT adapter folder to load and register it");
    if (!fs::path(*path).is_absolute()) throw invalid_request("field 'path': must be absolute, got '" + *path + "'");
    import_adapter(app.store, app.serving, name, *path, *base, scale);
  }
  json rec = app.store.adapters().get(name);
  auto res = resident_adapters(app.serving.stats());
  rec["loaded"] = res.count(name) > 0;
  if (res.count(name)) rec["resident"] = res[name];
  return json_response(200, rec);
}

Response adapter_unload(App& app, Request& req) {
  const std::string name = req.params["name"];
  if (!req.body.empty()) {
    const nlohmann::json body = parse_json_body(req.body);
    body_fields(body, {});  // no field is known: any is refused, naming it
  }
  app.serving.unload_adapter(name);
  return json_response(200, {{"unloaded", name}});
}

Response adapter_list(App& app, Request&) {
  std::map<std::string, json> res;
  if (app.serving.available()) res = resident_adapters(app.serving.stats());
  json list = json::array();
  for (auto& a : app.store.adapters().list()) {
    json j = a;
    auto it = res.find(a.name);
    j["loaded"] = it != res.end();
    if (it != res.end()) j["resident"] = it->second;
    list.push_back(j);
  }
  return json_response(200, {{"adapters", list}});
}

}  // namespace wb::daemon::handlers
