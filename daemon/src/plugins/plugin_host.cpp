#include "plugins/plugin_host.h"

#include <dlfcn.h>

#include <algorithm>

#include <spdlog/spdlog.h>

namespace wb::daemon {
namespace fs = std::filesystem;

DlHandle::~DlHandle() {
  if (h_) ::dlclose(h_);
}

nlohmann::json to_json_value(const PluginInfo& p) {
  nlohmann::json j = {{"name", p.name},           {"version", p.version},
                      {"path", p.path},           {"job_kinds", p.job_kinds},
                      {"serving", p.serving},     {"methods", p.methods},     {"status", p.loaded ? "loaded" : "error"}};
  if (!p.loaded) j["error"] = p.error;
  return j;
}

PluginHost::PluginHost(const wb_host* host, std::string init_config_json)
    : host_(host), init_config_(std::move(init_config_json)) {}

PluginHost::~PluginHost() { shutdown_all(); }

void PluginHost::load_dirs(const std::vector<fs::path>& dirs) {
  for (const fs::path& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      spdlog::debug("plugin dir {} does not exist; skipped", dir.string());
      continue;
    }
    std::vector<fs::path> files;
    for (auto& e : fs::directory_iterator(dir, ec))
      if (e.path().extension() == ".so" && (e.is_regular_file() || e.is_symlink())) files.push_back(e.path());
    std::sort(files.begin(), files.end());
    for (auto& f : files) load_file(f);
  }
}

PluginInfo PluginHost::load_file(const fs::path& file) {
  PluginInfo info;
  info.path = fs::absolute(file).string();
  info.name = file.stem().string();
  auto fail = [&](const std::string& msg) {
    info.loaded = false;
    info.error = msg;
    spdlog::error("plugin {}: {}", info.path, msg);
    infos_.push_back(info);
    return info;
  };
  // RTLD_LOCAL keeps each plugin's symbols to itself; RTLD_NOW reports missing symbols here.
  DlHandle h(::dlopen(info.path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (!h.get()) {
    const char* e = ::dlerror();
    return fail(std::string("dlopen failed: ") + (e ? e : "unknown error"));
  }
  auto entry = reinterpret_cast<wb_plugin_entry_fn>(::dlsym(h.get(), WB_PLUGIN_ENTRY_SYMBOL));
  if (!entry) return fail("no " WB_PLUGIN_ENTRY_SYMBOL " symbol: not a workbench plugin");
  const wb_plugin* p = entry();
  if (!p) return fail(WB_PLUGIN_ENTRY_SYMBOL " returned NULL");
  if (p->abi_version != WB_PLUGIN_ABI_VERSION)
    return fail("plugin ABI version " + std::to_string(p->abi_version) + " does not match the daemon's " +
                std::to_string(WB_PLUGIN_ABI_VERSION) + "; rebuild the plugin against this wb_plugin.h");
  if (p->name && *p->name) info.name = p->name;
  if (p->version) info.version = p->version;
  if (p->job_kinds)
    for (const char* const* k = p->job_kinds; *k; ++k) info.job_kinds.emplace_back(*k);
  info.serving = p->serving != nullptr;
  if (p->methods)
    for (const char* const* m = p->methods; *m; ++m) info.methods.emplace_back(*m);
  for (auto& other : infos_)
    if (other.loaded && other.name == info.name)
      return fail("a plugin named '" + info.name + "' is already loaded from " + other.path);
  for (auto& k : info.job_kinds)
    if (by_kind_.count(k)) return fail("job kind '" + k + "' is already served by another plugin");
  if (!p->run && !info.job_kinds.empty()) return fail("plugin declares job kinds but has no run()");
  for (auto& m : info.methods)
    if (by_method_.count(m)) return fail("method '" + m + "' is already served by another plugin");
  if (!p->invoke && !info.methods.empty()) return fail("plugin declares methods but has no invoke()");
  if (p->init) {
    wb_error err{};
    wb_status st = WB_ERROR;
    try {
      st = p->init(host_, init_config_.c_str(), &err);
    } catch (...) {
      return fail("init() threw an exception across the C ABI");
    }
    if (st != WB_OK) {
      err.message[WB_ERROR_CAPACITY - 1] = 0;
      return fail(std::string("init() failed: ") + (err.message[0] ? err.message : "no message"));
    }
  }
  for (auto& k : info.job_kinds) by_kind_[k] = p;
  for (auto& m : info.methods) by_method_[m] = p;
  info.loaded = true;
  loaded_.push_back(Loaded{std::move(h), p});
  infos_.push_back(info);
  std::string kinds;
  for (auto& k : info.job_kinds) kinds += (kinds.empty() ? "" : ", ") + k;
  spdlog::info("plugin {} {} loaded from {} (kinds: {})", info.name, info.version, info.path, kinds);
  return info;
}

const wb_plugin* PluginHost::for_kind(const std::string& kind) const {
  auto it = by_kind_.find(kind);
  return it == by_kind_.end() ? nullptr : it->second;
}

std::vector<std::string> PluginHost::kinds() const {
  std::vector<std::string> v;
  for (auto& [k, p] : by_kind_) v.push_back(k);
  return v;
}

void PluginHost::shutdown_all() {
  by_kind_.clear();
  while (!loaded_.empty()) {
    Loaded& l = loaded_.back();
    if (l.plugin->shutdown) {
      try {
        l.plugin->shutdown();
      } catch (...) {
        spdlog::error("plugin {}: shutdown() threw", l.plugin->name ? l.plugin->name : "?");
      }
    }
    loaded_.pop_back();  // dlclose
  }
}

}  // namespace wb::daemon
