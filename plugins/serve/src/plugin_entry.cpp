// The serve plugin's C ABI boundary (wb_plugin.h): wb_plugin_entry and the wb_serving table.
// Everything below the boundary is C++ with exceptions; the kit's guard (wb/plugin/guard.h) turns
// them into a wb_status plus message here. One Engine is resident at a time.
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "engine.h"
#include "model_options.h"
#include "wb/json/reader.h"
#include "wb/plugin/error.h"
#include "wb/plugin/guard.h"
#include "wb/plugin/host.h"
#include "wb/plugin/spec.h"
#include "wb/wb_plugin.h"

namespace {

using nlohmann::json;
using wb::serve::Engine;
using wb::plugin::guarded;
using wb::plugin::PluginError;

std::mutex g_mu;                  // guards g_engine (the pointer, not the engine)
std::shared_ptr<Engine> g_engine;
std::mutex g_load_mu;             // one load_model / unload_model at a time

std::shared_ptr<Engine> engine() {
  std::lock_guard lock(g_mu);
  if (!g_engine) throw PluginError(WB_NOT_FOUND, "no model is being served (load a model first)");
  return g_engine;
}

json parse(const char* text, const char* what) {
  if (!text) throw PluginError(WB_INVALID, std::string(what) + ": missing JSON");
  return wb::plugin::parse_spec(text);
}

// The registered object's "path" from the daemon's store (a model or adapter named but given
// without a path); WB_NOT_FOUND when it is not registered.
std::string lookup_path(const char* kind, const std::string& name) {
  const auto record = wb::plugin::Host::lookup(kind, name);
  if (!record) throw PluginError(WB_NOT_FOUND, std::string(kind) + " '" + name + "' is not registered");
  if (!record->contains("path") || !(*record)["path"].is_string())
    throw PluginError(WB_ERROR, std::string(kind) + " '" + name + "': its record has no path");
  return (*record)["path"].get<std::string>();
}

wb_status serve_load_model(const char* model_json, wb_error* err) {
  return guarded(err, [&] {
    json j = parse(model_json, "load_model");
    if (j.is_object() && !j.contains("path") && j.contains("name") && j["name"].is_string())
      j["path"] = lookup_path("model", j["name"].get<std::string>());
    auto options = wb::serve::ModelOptions::from_json(j);
    std::lock_guard load(g_load_mu);
    auto fresh = std::make_shared<Engine>(std::move(options));  // loads before replacing anything
    if (!fresh->options().device_note.empty()) wb::plugin::Host::log(WB_LOG_WARN, fresh->options().device_note);
    std::shared_ptr<Engine> old;
    {
      std::lock_guard lock(g_mu);
      old = std::exchange(g_engine, fresh);
    }
    old.reset();  // ends the old model's requests (done "cancelled") once no caller holds it
    return WB_OK;
  });
}

wb_status serve_unload_model(wb_error* err) {
  return guarded(err, [&] {
    std::lock_guard load(g_load_mu);
    std::shared_ptr<Engine> old;
    {
      std::lock_guard lock(g_mu);
      old = std::exchange(g_engine, nullptr);
    }
    if (!old) throw PluginError(WB_NOT_FOUND, "no model is being served");
    return WB_OK;
  });
}

wb_status serve_load_adapter(const char* adapter_json, wb_error* err) {
  return guarded(err, [&] {
    const json j = parse(adapter_json, "load_adapter");
    wb::JsonReader in(j);
    const std::string name = in.string("name");
    const std::optional<std::string> given = in.optional_string("path");
    const std::string path = given ? *given : lookup_path("adapter", name);
    const double scale = in.number_or("scale", 1.0);
    in.finish();
    engine()->registry().load(name, path, scale);
    return WB_OK;
  });
}

wb_status serve_unload_adapter(const char* name, wb_error* err) {
  return guarded(err, [&] {
    if (!name || !*name) throw PluginError(WB_INVALID, "unload_adapter: a name is required");
    engine()->registry().unload(name);
    return WB_OK;
  });
}

wb_status serve_submit(const char* request_json, wb_request_event_fn on_event, void* user, uint64_t* request_id,
                       wb_error* err) {
  return guarded(err, [&] {
    if (!on_event) throw PluginError(WB_INVALID, "submit: an event callback is required");
    const json j = parse(request_json, "submit");
    const uint64_t id = engine()->submit(j, [on_event, user](const std::string& ev) {
      return on_event(user, ev.c_str()) == 0;
    });
    if (request_id) *request_id = id;
    return WB_OK;
  });
}

wb_status serve_cancel(uint64_t request_id) {
  wb_error err{};
  return guarded(&err, [&] {
    if (!engine()->cancel(request_id))
      throw PluginError(WB_NOT_FOUND, "request " + std::to_string(request_id) + " is not running");
    return WB_OK;
  });
}

wb_status serve_stats(wb_emit_fn emit, void* user, wb_error* err) {
  return guarded(err, [&] {
    if (!emit) throw PluginError(WB_INVALID, "stats: an emit callback is required");
    std::shared_ptr<Engine> e;
    {
      std::lock_guard lock(g_mu);
      e = g_engine;
    }
    json j = e ? e->stats()
               : json{{"model", nullptr}, {"adapters", json::array()}, {"adapter_bytes", 0},
                      {"running", 0}, {"queued", 0}, {"tokens_per_s", 0.0}};
    emit(user, j.dump().c_str());
    return WB_OK;
  });
}

wb_status serve_init(const wb_host* host, const char* /*config_json*/, wb_error* err) {
  return guarded(err, [&] {
    wb::plugin::Host::install(host, "serve");
    return WB_OK;
  });
}

void serve_shutdown() {
  std::shared_ptr<Engine> old;
  {
    std::lock_guard lock(g_mu);
    old = std::exchange(g_engine, nullptr);
  }
  old.reset();
}

const char* const kNoJobs[] = {nullptr};

const wb_serving kServing = {
    sizeof(wb_serving), serve_load_model, serve_unload_model, serve_load_adapter, serve_unload_adapter,
    serve_submit,       serve_cancel,     serve_stats,
};

const wb_plugin kPlugin = {
    WB_PLUGIN_ABI_VERSION, sizeof(wb_plugin), "serve", "0.1.0", kNoJobs, serve_init, nullptr, nullptr, serve_shutdown, &kServing,
    nullptr, nullptr,
};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
