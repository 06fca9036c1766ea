// The serve plugin's C ABI boundary (wb_plugin.h): wb_plugin_entry and the wb_serving table.
// Everything below the boundary is C++ with exceptions (ServeError carries the status); here
// they become a wb_status plus message. One Engine is resident at a time.
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "engine.h"
#include "model_options.h"
#include "serve_error.h"
#include "wb/wb_plugin.h"

namespace {

using nlohmann::json;
using wb::serve::Engine;
using wb::serve::ServeError;

const wb_host* g_host = nullptr;
std::mutex g_mu;                  // guards g_engine (the pointer, not the engine)
std::shared_ptr<Engine> g_engine;
std::mutex g_load_mu;             // one load_model / unload_model at a time

template <typename F>
wb_status guarded(wb_error* err, F&& fn) {
  try {
    return fn();
  } catch (const ServeError& e) {
    wb_error_set(err, e.what());
    return e.status();
  } catch (const json::exception& e) {
    wb_error_set(err, (std::string("invalid JSON: ") + e.what()).c_str());
    return WB_INVALID;
  } catch (const std::exception& e) {
    wb_error_set(err, e.what());
    return WB_ERROR;
  } catch (...) {
    wb_error_set(err, "unknown error");
    return WB_ERROR;
  }
}

std::shared_ptr<Engine> engine() {
  std::lock_guard lock(g_mu);
  if (!g_engine) throw ServeError(WB_NOT_FOUND, "no model is being served (load a model first)");
  return g_engine;
}

json parse(const char* text, const char* what) {
  if (!text) throw ServeError(WB_INVALID, std::string(what) + ": missing JSON");
  return json::parse(text);
}

// The registered object's "path" from the daemon's store (a model or adapter named but given
// without a path), or throws WB_NOT_FOUND.
std::string lookup_path(const char* kind, const std::string& name) {
  if (!g_host || !g_host->lookup) throw ServeError(WB_INVALID, std::string(kind) + " '" + name + "': no \"path\" given");
  std::string record;
  wb_error err{};
  const wb_status st = g_host->lookup(nullptr, kind, name.c_str(),
                                      [](void* user, const char* text) { *static_cast<std::string*>(user) = text; },
                                      &record, &err);
  if (st != WB_OK) throw ServeError(st == WB_NOT_FOUND ? WB_NOT_FOUND : WB_ERROR, err.message);
  const json j = json::parse(record);
  if (!j.contains("path") || !j["path"].is_string())
    throw ServeError(WB_ERROR, std::string(kind) + " '" + name + "': its record has no path");
  return j["path"].get<std::string>();
}

wb_status serve_load_model(const char* model_json, wb_error* err) {
  return guarded(err, [&] {
    json j = parse(model_json, "load_model");
    if (j.is_object() && !j.contains("path") && j.contains("name") && j["name"].is_string())
      j["path"] = lookup_path("model", j["name"].get<std::string>());
    auto options = wb::serve::ModelOptions::from_json(j);
    std::lock_guard load(g_load_mu);
    auto fresh = std::make_shared<Engine>(std::move(options));  // loads before replacing anything
    if (g_host && g_host->log && !fresh->options().device_note.empty())
      g_host->log(WB_LOG_WARN, fresh->options().device_note.c_str());
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
    if (!old) throw ServeError(WB_NOT_FOUND, "no model is being served");
    return WB_OK;
  });
}

wb_status serve_load_adapter(const char* adapter_json, wb_error* err) {
  return guarded(err, [&] {
    const json j = parse(adapter_json, "load_adapter");
    if (!j.is_object()) throw ServeError(WB_INVALID, "load_adapter: expected a JSON object");
    for (const auto& [k, v] : j.items())
      if (k != "name" && k != "path" && k != "scale")
        throw ServeError(WB_INVALID, "load_adapter: \"" + k + "\" is not a known field");
    if (!j.contains("name") || !j["name"].is_string()) throw ServeError(WB_INVALID, "load_adapter: \"name\" (string) is required");
    const std::string name = j["name"].get<std::string>();
    std::string path;
    if (j.contains("path") && !j["path"].is_null()) {
      if (!j["path"].is_string()) throw ServeError(WB_INVALID, "load_adapter: \"path\" must be a string");
      path = j["path"].get<std::string>();
    } else {
      path = lookup_path("adapter", name);
    }
    double scale = 1.0;
    if (j.contains("scale") && !j["scale"].is_null()) {
      if (!j["scale"].is_number()) throw ServeError(WB_INVALID, "load_adapter: \"scale\" must be a number");
      scale = j["scale"].get<double>();
    }
    engine()->registry().load(name, path, scale);
    return WB_OK;
  });
}

wb_status serve_unload_adapter(const char* name, wb_error* err) {
  return guarded(err, [&] {
    if (!name || !*name) throw ServeError(WB_INVALID, "unload_adapter: a name is required");
    engine()->registry().unload(name);
    return WB_OK;
  });
}

wb_status serve_submit(const char* request_json, wb_request_event_fn on_event, void* user, uint64_t* request_id,
                       wb_error* err) {
  return guarded(err, [&] {
    if (!on_event) throw ServeError(WB_INVALID, "submit: an event callback is required");
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
      throw ServeError(WB_NOT_FOUND, "request " + std::to_string(request_id) + " is not running");
    return WB_OK;
  });
}

wb_status serve_stats(wb_emit_fn emit, void* user, wb_error* err) {
  return guarded(err, [&] {
    if (!emit) throw ServeError(WB_INVALID, "stats: an emit callback is required");
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
    if (!host || host->abi_version != WB_PLUGIN_ABI_VERSION || host->struct_size < sizeof(wb_host))
      throw ServeError(WB_ERROR, "serve plugin: incompatible host table");
    g_host = host;
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
  g_host = nullptr;
}

const char* const kNoJobs[] = {nullptr};

const wb_serving kServing = {
    sizeof(wb_serving), serve_load_model, serve_unload_model, serve_load_adapter, serve_unload_adapter,
    serve_submit,       serve_cancel,     serve_stats,
};

const wb_plugin kPlugin = {
    WB_PLUGIN_ABI_VERSION, "serve", "0.1.0", kNoJobs, serve_init, nullptr, nullptr, serve_shutdown, &kServing,
    nullptr, nullptr,
};

}  // namespace

extern "C" WB_PLUGIN_EXPORT const wb_plugin* wb_plugin_entry(void) { return &kPlugin; }
