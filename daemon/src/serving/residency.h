// residency.h — which model and adapters are resident, decided per request (Ollama's habits).
//
//   Residency r(config, store, serving);          // starts the idle watcher ([serving] idle_unload_s)
//   { auto hold = r.prepare("support", keep_alive); submit(...); }   // hold until submitted
//   r.stop();                                      // before the plugins are unloaded
//
// prepare(name): with `[serving] load_on_request = true`, a request naming a registered model
// when none is served starts it (the defaults of POST /v1/serving), and a request naming a
// registered adapter of the served model (or of a registered model when none is served) loads
// it; prepare holds one lock over the check and the load, so concurrent requests for the same
// unloaded adapter load it once. It also records the use: the name (and the model) count as used
// now, and a request's keep_alive (seconds; < 0 forever, 0 unload as soon as idle) replaces the
// default for that name. The returned lock is held until the request is submitted, so the
// watcher never unloads what a request is about to use.
//
// With `[serving] shared_adapters` set (with or without load_on_request), a request naming an
// adapter "<name>@<version>" that is not resident loads it under the same lock: from its
// registration when this daemon imported it before, else from <shared_adapters>/<name>@<version>/,
// imported exactly as POST /v1/adapters/{name}/load with a path (serving/adapter_import.h:
// validated against the served model, then registered). A name with no such folder is left to
// the plugin's 404. When `max_adapters` are resident, the least recently used one that no request
// holds is unloaded first to make room (it comes back on its next request).
//
// The watcher (a thread, every 200 ms) unloads an adapter with no request holding it once it has
// been idle longer than its keep time (idle_unload_s, or the last keep_alive naming it), and the
// base model with no running or queued request likewise when load_on_request is on (it comes
// back with the next request). idle_unload_s = 0 and no keep_alive: nothing is unloaded.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "serving/serving.h"
#include "wb/config/config.h"
#include "wb/storage/store.h"

namespace wb::daemon {

class Residency {
 public:
  Residency(const config::Config& config, storage::Store& store, const Serving& serving);
  ~Residency();
  Residency(const Residency&) = delete;
  Residency& operator=(const Residency&) = delete;

  // See above. Throws the ApiError of a failed load (e.g. 409 for an adapter of another model);
  // leaves the answer for a name it does not load to the serving plugin.
  std::unique_lock<std::mutex> prepare(const std::string& name, std::optional<double> keep_alive_s);
  // Stops the watcher (idempotent).
  void stop();

  // The load_model request POST /v1/serving sends for `model` with no overrides: the [serving]
  // defaults, max_context capped by the model's own, the daemon's device.
  static nlohmann::json default_load(const config::Config& config, const storage::ModelRecord& model);

 private:
  using Clock = std::chrono::steady_clock;
  struct Use {
    Clock::time_point last;
    std::optional<double> keep_s;  // nullopt: never unloaded for idleness
  };
  void watch();
  void sweep();
  void mark(const std::string& key, std::optional<double> keep_alive_s);
  // The shared adapter directory's side of prepare() (above); called with mu_ held.
  void load_shared(const std::string& name, const std::string& served);
  // Unloads the least recently used resident adapter no request holds when the plugin is full.
  void make_room();

  const config::Config& config_;
  storage::Store& store_;
  const Serving& serving_;
  std::mutex mu_;                       // prepare() .. submit, and every load/unload decision
  std::map<std::string, Use> uses_;     // "adapter:NAME" and "model"
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wb::daemon
