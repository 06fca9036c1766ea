// TOML loading for wb/config/config.h: strict key checking, defaults, path expansion.
#include "wb/config/config.h"

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#ifndef WB_BUILTIN_PLUGIN_DIR
#define WB_BUILTIN_PLUGIN_DIR ""
#endif

namespace wb::config {
namespace fs = std::filesystem;

std::string_view to_string(Device d) {
  switch (d) {
    case Device::Cpu: return "cpu";
    case Device::Cuda: return "cuda";
    default: return "auto";
  }
}

std::string_view to_string(Isolation i) { return i == Isolation::InProcess ? "in_process" : "process"; }

static std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

static fs::path home_dir() {
  std::string h = env("HOME");
  return h.empty() ? fs::path("/tmp") : fs::path(h);
}

fs::path expand_home(const fs::path& p) {
  std::string s = p.string();
  if (s == "~") return home_dir();
  if (s.rfind("~/", 0) == 0) return home_dir() / s.substr(2);
  return p;
}

fs::path default_data_dir() {
  std::string x = env("XDG_DATA_HOME");
  if (!x.empty()) return fs::path(x) / "workbench";
  return home_dir() / ".local/share/workbench";
}

fs::path default_socket_path() {
  std::string x = env("XDG_RUNTIME_DIR");
  if (!x.empty()) return fs::path(x) / "workbench/wb.sock";
  return home_dir() / ".local/share/workbench/run/wb.sock";
}

fs::path builtin_plugin_dir() { return fs::path(WB_BUILTIN_PLUGIN_DIR); }

std::vector<fs::path> Config::plugin_search_dirs() const {
  if (!plugin_dirs.empty()) return plugin_dirs;
  std::vector<fs::path> dirs;
  if (!builtin_plugin_dir().empty()) dirs.push_back(builtin_plugin_dir());
  dirs.push_back(data_dir / "plugins");
  return dirs;
}

Config defaults() {
  Config c;
  c.data_dir = default_data_dir();
  c.socket = default_socket_path();
  return c;
}

std::optional<fs::path> default_config_path() {
  std::string x = env("WB_CONFIG");
  if (!x.empty()) return fs::path(x);
  fs::path p = home_dir() / ".config/workbench/workbench.toml";
  std::error_code ec;
  if (fs::is_regular_file(p, ec)) return p;
  return std::nullopt;
}

namespace {

// Reads typed values out of one TOML table, remembering which keys were consumed so the
// leftovers can be reported as unknown.
class TableReader {
 public:
  TableReader(const toml::table& t, std::string prefix, std::string origin, fs::path base)
      : t_(t), prefix_(std::move(prefix)), origin_(std::move(origin)), base_(std::move(base)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw ConfigError(origin_ + ": key '" + prefix_ + key + "': " + what);
  }

  const toml::node* get(const std::string& key) {
    seen_.insert(key);
    return t_.get(key);
  }

  void string(const std::string& key, std::string& out) {
    if (auto* n = get(key)) {
      if (!n->is_string()) fail(key, "expected a string");
      out = *n->value<std::string>();
    }
  }

  void path(const std::string& key, fs::path& out) {
    std::string s;
    if (!t_.contains(key)) { seen_.insert(key); return; }
    string(key, s);
    if (s.empty()) fail(key, "expected a non-empty path");
    out = resolve(s);
  }

  fs::path resolve(const std::string& s) const {
    fs::path p = expand_home(s);
    if (p.is_relative() && !base_.empty()) p = base_ / p;
    return p.lexically_normal();
  }

  template <class T>
  void integer(const std::string& key, T& out, std::int64_t lo, std::int64_t hi) {
    if (auto* n = get(key)) {
      if (!n->is_integer()) fail(key, "expected an integer");
      std::int64_t v = *n->value<std::int64_t>();
      if (v < lo || v > hi)
        fail(key, "expected an integer " + std::to_string(lo) + ".." + std::to_string(hi) +
                      ", got " + std::to_string(v));
      out = static_cast<T>(v);
    }
  }

  // A number (integer or float) in [lo, hi].
  void number(const std::string& key, double& out, double lo, double hi) {
    if (auto* n = get(key)) {
      if (!n->is_number()) fail(key, "expected a number");
      const double v = *n->value<double>();
      if (!(v >= lo && v <= hi))
        fail(key, "expected a number " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(v));
      out = v;
    }
  }

  void boolean(const std::string& key, bool& out) {
    if (auto* n = get(key)) {
      if (!n->is_boolean()) fail(key, "expected true or false");
      out = *n->value<bool>();
    }
  }

  const toml::table* table(const std::string& key) {
    if (auto* n = get(key)) {
      if (!n->is_table()) fail(key, "expected a table");
      return n->as_table();
    }
    return nullptr;
  }

  void reject_unknown() const {
    for (auto&& [k, v] : t_) {
      std::string key(k.str());
      if (!seen_.count(key))
        throw ConfigError(origin_ + ": unknown key '" + prefix_ + key + "'");
    }
  }

  const std::string& origin() const { return origin_; }
  const fs::path& base() const { return base_; }

 private:
  const toml::table& t_;
  std::string prefix_;
  std::string origin_;
  fs::path base_;
  std::set<std::string> seen_;
};

}  // namespace

Config load_string(std::string_view text, const fs::path& origin) {
  std::string origin_name = origin.empty() ? std::string("<config>") : origin.string();
  toml::table root;
  try {
    root = toml::parse(text, origin_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream m;
    m << origin_name << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
      << e.description();
    throw ConfigError(m.str());
  }
  fs::path base = origin.empty() ? fs::path() : origin.parent_path();
  if (!base.empty() && base.is_relative()) base = fs::absolute(base);

  Config c = defaults();
  TableReader r(root, "", origin_name, base);
  r.path("data_dir", c.data_dir);
  r.path("socket", c.socket);
  if (auto* n = r.get("plugin_dirs")) {
    if (!n->is_array()) r.fail("plugin_dirs", "expected an array of paths");
    for (auto&& item : *n->as_array()) {
      if (!item.is_string() || item.value<std::string>()->empty())
        r.fail("plugin_dirs", "expected an array of non-empty path strings");
      c.plugin_dirs.push_back(r.resolve(*item.value<std::string>()));
    }
  }
  std::string device = "auto";
  r.string("device", device);
  if (device == "auto") c.device = Device::Auto;
  else if (device == "cpu") c.device = Device::Cpu;
  else if (device == "cuda") c.device = Device::Cuda;
  else r.fail("device", "expected one of auto, cpu, cuda, got '" + device + "'");
  r.integer("threads", c.threads, 0, 1024);
  r.integer("http_threads", c.http_threads, 1, 64);
  r.string("instance", c.instance);
  for (char ch : c.instance)  // it goes into a response header
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' && ch != '-')
      r.fail("instance", "may contain only letters, digits, '.', '_' and '-'");

  if (auto* t = r.table("limits")) {
    TableReader l(*t, "limits.", origin_name, base);
    l.integer("max_body_bytes", c.limits.max_body_bytes, 1024, std::int64_t(1) << 40);
    l.integer("max_request_bytes", c.limits.max_request_bytes, 1024, std::int64_t(1) << 32);
    l.integer("max_header_bytes", c.limits.max_header_bytes, 1024, 16 << 20);
    l.integer("max_connections", c.limits.max_connections, 1, 1 << 20);
    l.integer("header_timeout_s", c.limits.header_timeout_s, 1, 86400);
    l.integer("body_timeout_s", c.limits.body_timeout_s, 1, 86400);
    l.integer("idle_timeout_s", c.limits.idle_timeout_s, 1, 86400);
    l.integer("worker_threads", c.limits.worker_threads, 1, 256);
    l.integer("worker_queue", c.limits.worker_queue, 0, 1 << 16);
    l.reject_unknown();
  }
  if (auto* t = r.table("serving")) {
    TableReader s(*t, "serving.", origin_name, base);
    s.string("model", c.serving.model);
    s.integer("max_batch", c.serving.max_batch, 1, 4096);
    s.integer("max_context", c.serving.max_context, 16, 1 << 20);
    s.integer("max_adapters", c.serving.max_adapters, 0, 4096);
    // residency on request (config.h Serving)
    s.boolean("load_on_request", c.serving.load_on_request);
    s.number("idle_unload_s", c.serving.idle_unload_s, 0, 1e9);
    s.boolean("batch_invariant", c.serving.batch_invariant);
    s.path("shared_adapters", c.serving.shared_adapters);
    s.reject_unknown();
  }
  if (auto* t = r.table("tcp")) {
    TableReader s(*t, "tcp.", origin_name, base);
    s.boolean("enabled", c.tcp.enabled);
    s.string("host", c.tcp.host);
    s.integer("port", c.tcp.port, 1, 65535);
    s.string("token", c.tcp.token);
    s.integer("max_body_bytes", c.tcp.max_body_bytes, 1024, std::int64_t(1) << 32);
    s.integer("max_connections", c.tcp.max_connections, 1, 1 << 20);
    s.boolean("metrics_without_token", c.tcp.metrics_without_token);
    s.reject_unknown();
    if (c.tcp.enabled && c.tcp.token.empty())
      s.fail("token", "required (non-empty) when tcp.enabled is true (tcp.host = '" + c.tcp.host + "')");
  }
  if (auto* t = r.table("jobs")) {
    TableReader j(*t, "jobs.", origin_name, base);
    j.integer("max_attempts", c.jobs.max_attempts, 1, 1000);
    j.integer("max_job_memory", c.jobs.max_job_memory, 0, std::int64_t(1) << 50);
    std::string isolation(to_string(c.jobs.isolation));
    j.string("isolation", isolation);
    if (isolation == "process") c.jobs.isolation = Isolation::Process;
    else if (isolation == "in_process") c.jobs.isolation = Isolation::InProcess;
    else j.fail("isolation", "expected one of process, in_process, got '" + isolation + "'");
    j.number("heartbeat_timeout_s", c.jobs.heartbeat_timeout_s, 0.1, 86400);
    j.number("stop_grace_s", c.jobs.stop_grace_s, 0, 3600);
    j.string("mpirun", c.jobs.mpirun);
    if (c.jobs.mpirun.empty()) j.fail("mpirun", "expected a non-empty command name or path");
    if (c.jobs.mpirun.find('/') != std::string::npos) c.jobs.mpirun = j.resolve(c.jobs.mpirun).string();
    if (auto* n = j.get("mpirun_args")) {
      if (!n->is_array()) j.fail("mpirun_args", "expected an array of strings");
      for (auto&& item : *n->as_array()) {
        if (!item.is_string()) j.fail("mpirun_args", "expected an array of strings");
        c.jobs.mpirun_args.push_back(*item.value<std::string>());
      }
    }
    j.reject_unknown();
  }
  r.reject_unknown();
  c.source = origin;
  return c;
}

Config load_file(const fs::path& file) {
  fs::path f = expand_home(file);
  std::ifstream in(f, std::ios::binary);
  if (!in) throw ConfigError(f.string() + ": cannot read config file");
  std::stringstream ss;
  ss << in.rdbuf();
  return load_string(ss.str(), fs::absolute(f));
}

Config load_default() {
  if (auto p = default_config_path()) return load_file(*p);
  return defaults();
}

}  // namespace wb::config
