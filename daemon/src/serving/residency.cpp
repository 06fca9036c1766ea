#include "serving/residency.h"

#include <filesystem>

#include <spdlog/spdlog.h>

#include "http/api_error.h"
#include "serving/adapter_import.h"

namespace wb::daemon {

using nlohmann::json;

namespace {

// The resident adapters of a stats() answer: name -> refs (retired versions left out).
std::map<std::string, long> resident_adapters(const json& stats) {
  std::map<std::string, long> out;
  if (stats.contains("adapters") && stats["adapters"].is_array())
    for (const json& a : stats["adapters"])
      if (a.is_object() && a.contains("name") && a["name"].is_string() && a.value("resident", true))
        out[a["name"].get<std::string>()] = a.value("refs", 0L);
  return out;
}

}  // namespace

json Residency::default_load(const config::Config& config, const storage::ModelRecord& m) {
  const auto& sc = config.serving;
  // The configured context, capped by the model's own (a tiny test model has 128 positions).
  std::int64_t context = sc.max_context;
  if (m.config.contains("max_position_embeddings") && m.config["max_position_embeddings"].is_number_integer())
    context = std::min<std::int64_t>(context, m.config["max_position_embeddings"].get<std::int64_t>());
  json load = {{"name", m.name},
               {"path", m.path},
               {"max_batch", sc.max_batch},
               {"max_context", context},
               {"max_adapters", sc.max_adapters},
               {"device", std::string(config::to_string(config.device))}};
  // Only a true is passed on unasked, so the GPU (which cannot honour batch invariance) is
  // refused only when it was asked for.
  if (sc.batch_invariant) load["batch_invariant"] = true;
  return load;
}

Residency::Residency(const config::Config& config, storage::Store& store, const Serving& serving)
    : config_(config), store_(store), serving_(serving) {
  thread_ = std::thread([this] { watch(); });
}

Residency::~Residency() { stop(); }

void Residency::stop() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Residency::mark(const std::string& key, std::optional<double> keep_alive_s) {
  std::optional<double> keep = keep_alive_s;
  if (!keep && config_.serving.idle_unload_s > 0) keep = config_.serving.idle_unload_s;
  if (keep && *keep < 0) keep.reset();  // negative: stays resident
  uses_[key] = {Clock::now(), keep};
}

std::unique_lock<std::mutex> Residency::prepare(const std::string& name, std::optional<double> keep_alive_s) {
  std::unique_lock lock(mu_);
  if (!serving_.available()) return lock;
  json stats = serving_.stats();
  std::optional<std::string> served = Serving::model_name(stats);
  if (config_.serving.load_on_request) {
    if (!served) {
      // The model named, or the base model of the adapter named.
      std::optional<storage::ModelRecord> m = store_.models().find(name);
      if (!m)
        if (auto a = store_.adapters().find(name)) m = store_.models().find(a->base_model);
      if (m) {
        spdlog::info("loading model {} on request", m->name);
        serving_.load_model(default_load(config_, *m));
        served = m->name;
        stats = serving_.stats();
        uses_.clear();
      }
    }
    if (served && name != *served && !resident_adapters(stats).count(name))
      if (auto a = store_.adapters().find(name)) {
        if (a->base_model != *served)
          throw conflict("adapter '" + name + "' was trained on model '" + a->base_model + "' but '" + *served +
                         "' is being served");
        spdlog::info("loading adapter {} on request", name);
        serving_.load_adapter({{"name", name}, {"path", a->path}});
      }
  }
  if (served && name != *served && !config_.serving.shared_adapters.empty() && storage::is_versioned_adapter_name(name) &&
      !resident_adapters(serving_.stats()).count(name))  // fresh: load_on_request may have loaded it above
    load_shared(name, *served);
  if (served) {
    if (config_.serving.load_on_request) mark("model", keep_alive_s);
    if (name != *served) mark("adapter:" + name, keep_alive_s);
  }
  return lock;
}

void Residency::make_room() {
  const json stats = serving_.stats();
  const auto resident = resident_adapters(stats);
  const long cap = stats.value("max_adapters", 0L);
  if (cap <= 0 || static_cast<long>(resident.size()) < cap) return;
  std::optional<std::string> victim;
  Clock::time_point oldest = Clock::time_point::max();
  for (const auto& [name, refs] : resident) {
    if (refs > 0) continue;  // a queued or running request holds it
    auto it = uses_.find("adapter:" + name);
    const Clock::time_point last = it == uses_.end() ? Clock::time_point::min() : it->second.last;
    if (!victim || last < oldest) {
      victim = name;
      oldest = last;
    }
  }
  if (!victim) return;  // every slot is in use: the load answers 409 (max_adapters)
  spdlog::info("unloading adapter {}: least recently used, {} adapters resident (max_adapters)", *victim, resident.size());
  serving_.unload_adapter(*victim);
  uses_.erase("adapter:" + *victim);
}

void Residency::load_shared(const std::string& name, const std::string& served) {
  make_room();
  if (auto a = store_.adapters().find(name)) {
    // Imported before (then unloaded for idleness): its registration says where it lives.
    if (a->base_model != served)
      throw conflict("adapter '" + name + "' was trained on model '" + a->base_model + "' but '" + served +
                     "' is being served");
    spdlog::info("loading adapter {} on request", name);
    serving_.load_adapter({{"name", name}, {"path", a->path}});
    return;
  }
  // The name passed validate_adapter_name (no '/', no leading '.'), so it stays inside the folder.
  const std::filesystem::path dir = config_.serving.shared_adapters / name;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return;  // the plugin answers 404 for the name
  spdlog::info("importing adapter {} from the shared adapter directory ({})", name, dir.string());
  import_adapter(store_, serving_, name, dir, served);
}

void Residency::watch() {
  std::unique_lock lock(stop_mu_);
  while (!stop_cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stopping_; })) {
    lock.unlock();
    try {
      sweep();
    } catch (const std::exception& e) {
      spdlog::warn("idle unloading: {}", e.what());
    }
    lock.lock();
  }
}

void Residency::sweep() {
  std::lock_guard lock(mu_);
  if (!serving_.available()) return;
  const json stats = serving_.stats();
  const std::optional<std::string> served = Serving::model_name(stats);
  if (!served) {
    uses_.clear();
    return;
  }
  const auto now = Clock::now();
  auto idle_past = [&](const Use& u) {
    return u.keep_s && std::chrono::duration<double>(now - u.last).count() >= *u.keep_s;
  };
  for (const auto& [name, refs] : resident_adapters(stats)) {
    const std::string key = "adapter:" + name;
    auto it = uses_.find(key);
    if (it == uses_.end()) {  // loaded by hand: its idle time starts now
      mark(key, std::nullopt);
      continue;
    }
    if (refs > 0) {
      it->second.last = now;
    } else if (idle_past(it->second)) {
      spdlog::info("unloading adapter {}: idle", name);
      serving_.unload_adapter(name);
      uses_.erase(it);
    }
  }
  if (!config_.serving.load_on_request) return;  // the model comes back only on request
  auto it = uses_.find("model");
  if (it == uses_.end()) {
    mark("model", std::nullopt);
    return;
  }
  const bool busy = stats.value("running", 0L) > 0 || stats.value("queued", 0L) > 0;
  if (busy) {
    it->second.last = now;
  } else if (idle_past(it->second)) {
    spdlog::info("unloading model {}: idle", *served);
    serving_.unload_model();
    uses_.clear();
  }
}

}  // namespace wb::daemon
