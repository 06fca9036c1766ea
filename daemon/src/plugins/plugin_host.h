// plugin_host.h — loads plugins (dlopen) and maps job kinds to them.
//
// load_dirs() dlopens every *.so in the given directories (sorted by file name, missing
// directories skipped), calls wb_plugin_entry, refuses a module whose abi_version lies outside
// [WB_PLUGIN_ABI_MIN_VERSION, WB_PLUGIN_ABI_VERSION] (naming both), reads its wb_plugin (and
// wb_serving) only as far as the module's struct_size covers, then calls init() with the host
// table of the module's ABI (an ABI 2 module gets the ABI 2 table). Every failure (dlopen error,
// no entry symbol, ABI out of range, a struct_size too short for the fixed fields, init() error, a
// job kind already served by an earlier plugin) is recorded as a PluginInfo with status "error"
// and a message, and never stops the daemon.
// Methods (ABI 2: synchronous calls such as "reward.score") are mapped like job kinds.
// The loaded modules stay open until shutdown_all() (shutdown() then dlclose, in reverse order).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugins/plugin_abi_v2.h"
#include "wb/wb_plugin.h"

namespace wb::daemon {

// What GET /v1/status reports for one plugin file.
struct PluginInfo {
  std::string name;     // the plugin's name, or the file stem when it could not be read
  std::string version;
  uint32_t abi_version = 0;  // the ABI the module was built against (0: not read)
  std::string path;
  std::vector<std::string> job_kinds;
  // What each job kind's spec accepts, as the plugin declared it (wb_plugin::job_fields_json):
  // {"<kind>": {"help", "fields": [...]}}; a kind without a declaration is absent.
  nlohmann::json job_fields = nlohmann::json::object();
  std::vector<std::string> methods;  // synchronous calls (ABI 2), e.g. "reward.score"
  bool serving = false;
  bool loaded = false;  // status "loaded" | "error"
  std::string error;
};
nlohmann::json to_json_value(const PluginInfo& p);

// dlopen handle closed on destruction.
class DlHandle {
 public:
  explicit DlHandle(void* h = nullptr) : h_(h) {}
  ~DlHandle();
  DlHandle(DlHandle&& o) noexcept : h_(o.h_) { o.h_ = nullptr; }
  DlHandle& operator=(DlHandle&&) = delete;
  DlHandle(const DlHandle&) = delete;
  void* get() const { return h_; }

 private:
  void* h_;
};

class PluginHost {
 public:
  // `host` (ABI 3) and `host_v2` (for ABI 2 modules) are handed to every init(); their contexts
  // must outlive this object. The daemon's tables are backed by storage (host_api.h), wb-worker's
  // by its channel to the daemon. `init_config_json` is passed to every init().
  PluginHost(const wb_host& host, const abi_v2::wb_host& host_v2, std::string init_config_json);
  ~PluginHost();  // shutdown_all()
  PluginHost(const PluginHost&) = delete;
  PluginHost& operator=(const PluginHost&) = delete;

  void load_dirs(const std::vector<std::filesystem::path>& dirs);
  // Loads one file; returns its info (also recorded for plugins()).
  PluginInfo load_file(const std::filesystem::path& file);

  // The context of this host's tables: what a job handle carries (wb_job::host_ctx).
  void* host_ctx() const { return host_.ctx; }
  // The ABI 3 table handed to plugins (a job's host calls relayed from a worker go through it).
  const wb_host& host_table() const { return host_; }
  // The config text every init() gets (a worker's plugin gets the same).
  const std::string& init_config() const { return init_config_; }
  // The file of the loaded plugin running `kind` (its PluginInfo::path), or empty.
  std::string path_for_kind(const std::string& kind) const;

  // The loaded plugin running `kind`, or nullptr. Plugins are returned as the daemon's own copy of
  // their wb_plugin, read as far as their struct_size covers (absent fields NULL).
  const wb_plugin* for_kind(const std::string& kind) const;
  // The loaded plugin answering synchronous `method` (wb_plugin.invoke), or nullptr.
  const wb_plugin* for_method(const std::string& method) const {
    auto it = by_method_.find(method);
    return it == by_method_.end() ? nullptr : it->second;
  }
  // The serving table of the first loaded plugin that fills one (plugins/serve), or nullptr.
  // Valid until shutdown_all().
  const wb_serving* serving() const {
    for (auto& l : loaded_)
      if (l.serving) return l.serving.get();
    return nullptr;
  }
  // Every job kind served, sorted.
  std::vector<std::string> kinds() const;
  const std::vector<PluginInfo>& plugins() const { return infos_; }

  // Calls shutdown() on every loaded plugin and closes the modules (reverse load order).
  void shutdown_all();

 private:
  struct Loaded {
    DlHandle handle;
    std::unique_ptr<wb_plugin> plugin;    // the module's struct as far as its struct_size covers
    std::unique_ptr<wb_serving> serving;  // likewise its serving table, or null
  };
  wb_host host_;                  // ABI 3 table (ctx = the services)
  abi_v2::wb_host host_v2_;       // for modules built against ABI 2
  std::string init_config_;
  std::vector<PluginInfo> infos_;
  std::vector<Loaded> loaded_;
  std::map<std::string, const wb_plugin*> by_kind_;
  std::map<std::string, const wb_plugin*> by_method_;
};

}  // namespace wb::daemon
