#include "plugins/plugin_host.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

namespace wb::daemon {
namespace fs = std::filesystem;

DlHandle::~DlHandle() {
  if (h_) ::dlclose(h_);
}

nlohmann::json to_json_value(const PluginInfo& p) {
  nlohmann::json j = {{"name", p.name},           {"version", p.version},
                      {"path", p.path},           {"abi_version", p.abi_version},           {"job_kinds", p.job_kinds},
                      {"serving", p.serving},     {"methods", p.methods},     {"status", p.loaded ? "loaded" : "error"}};
  if (!p.loaded) j["error"] = p.error;
  return j;
}

namespace {

// The plugin's struct as far as `size` bytes of it exist, the rest zero (absent). Never reads
// past the module's struct: a plugin built before a field was appended lacks it.
template <typename T>
std::unique_ptr<T> read_struct(const void* p, std::size_t size) {
  auto copy = std::make_unique<T>();
  std::memset(copy.get(), 0, sizeof(T));
  std::memcpy(copy.get(), p, std::min(size, sizeof(T)));
  return copy;
}

}  // namespace

PluginHost::PluginHost(const wb_host& host, const abi_v2::wb_host& host_v2, std::string init_config_json)
    : host_(host), host_v2_(host_v2), init_config_(std::move(init_config_json)) {}

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
  const void* raw = entry();
  if (!raw) return fail(WB_PLUGIN_ENTRY_SYMBOL " returned NULL");
  // abi_version is the first field of every version's struct; it says how to read the rest.
  uint32_t abi = 0;
  std::memcpy(&abi, raw, sizeof abi);
  info.abi_version = abi;
  if (abi < WB_PLUGIN_ABI_MIN_VERSION || abi > WB_PLUGIN_ABI_VERSION)
    return fail("plugin ABI version " + std::to_string(abi) + " is outside the daemon's supported range " +
                std::to_string(WB_PLUGIN_ABI_MIN_VERSION) + ".." + std::to_string(WB_PLUGIN_ABI_VERSION) +
                (abi > WB_PLUGIN_ABI_VERSION ? "; the plugin is newer than this daemon: upgrade workbenchd"
                                             : "; rebuild the plugin against this wb_plugin.h"));
  // ABI 2 had no struct_size: its struct is wb_plugin up to invoke, with padding where ABI 3 put
  // struct_size (plugin_abi_v2.h).
  std::size_t size = sizeof(abi_v2::wb_plugin);
  if (abi >= 3) {
    uint32_t declared = 0;
    std::memcpy(&declared, static_cast<const char*>(raw) + offsetof(wb_plugin, struct_size), sizeof declared);
    const std::size_t fixed = offsetof(wb_plugin, serving) + sizeof(wb_plugin::serving);
    if (declared < fixed)
      return fail("plugin struct_size " + std::to_string(declared) + " is smaller than the " +
                  std::to_string(fixed) + " bytes every ABI " + std::to_string(abi) + " plugin has");
    size = declared;
  }
  std::unique_ptr<wb_plugin> plugin = read_struct<wb_plugin>(raw, size);
  plugin->struct_size = static_cast<uint32_t>(std::min(size, sizeof(wb_plugin)));
  const wb_plugin* p = plugin.get();
  std::unique_ptr<wb_serving> serving;
  if (p->serving) {
    uint32_t serving_size = 0;
    std::memcpy(&serving_size, p->serving, sizeof serving_size);
    serving = read_struct<wb_serving>(p->serving, serving_size);
    serving->struct_size = static_cast<uint32_t>(std::min<std::size_t>(serving_size, sizeof(wb_serving)));
    plugin->serving = serving.get();
  }
  if (p->name && *p->name) info.name = p->name;
  if (p->version) info.version = p->version;
  if (p->job_kinds)
    for (const char* const* k = p->job_kinds; *k; ++k) info.job_kinds.emplace_back(*k);
  info.serving = p->serving != nullptr;
  if (WB_STRUCT_HAS(p, wb_plugin, job_fields_json) && p->job_fields_json) {
    nlohmann::json fields = nlohmann::json::parse(p->job_fields_json, nullptr, false);
    if (fields.is_discarded() || !fields.is_object()) return fail("job_fields_json is not a JSON object");
    for (auto& [kind, d] : fields.items()) {
      if (std::find(info.job_kinds.begin(), info.job_kinds.end(), kind) == info.job_kinds.end())
        return fail("job_fields_json describes '" + kind + "', which is not one of its job kinds");
      if (!d.is_object() || !d.contains("fields") || !d["fields"].is_array())
        return fail("job_fields_json['" + kind + "'] has no \"fields\" array");
    }
    info.job_fields = std::move(fields);
  }
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
      // An ABI 2 module is handed the ABI 2 table: the same pointer type, its own layout.
      const wb_host* table = abi >= 3 ? &host_ : reinterpret_cast<const wb_host*>(&host_v2_);
      st = p->init(table, init_config_.c_str(), &err);
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
  loaded_.push_back(Loaded{std::move(h), std::move(plugin), std::move(serving)});
  infos_.push_back(info);
  std::string kinds;
  for (auto& k : info.job_kinds) kinds += (kinds.empty() ? "" : ", ") + k;
  spdlog::info("plugin {} {} (ABI {}) loaded from {} (kinds: {})", info.name, info.version, abi, info.path, kinds);
  return info;
}

const wb_plugin* PluginHost::for_kind(const std::string& kind) const {
  auto it = by_kind_.find(kind);
  return it == by_kind_.end() ? nullptr : it->second;
}

std::string PluginHost::path_for_kind(const std::string& kind) const {
  for (auto& info : infos_)
    if (info.loaded && std::find(info.job_kinds.begin(), info.job_kinds.end(), kind) != info.job_kinds.end())
      return info.path;
  return {};
}

std::vector<std::string> PluginHost::kinds() const {
  std::vector<std::string> v;
  for (auto& [k, p] : by_kind_) v.push_back(k);
  return v;
}

void PluginHost::shutdown_all() {
  by_kind_.clear();
  by_method_.clear();
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
