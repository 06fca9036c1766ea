// wb status — the daemon's version, data dir, device, plugins and queue (GET /v1/status).
#include <cstdlib>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/output.h"
#include "wb/cli/progress.h"
#include "wb/config/config.h"

namespace wb::cli {
namespace {

using nlohmann::json;

std::string join_kinds(const json& kinds) {
  if (!kinds.is_array()) return "-";
  std::string s;
  for (const auto& k : kinds) s += (s.empty() ? "" : ",") + cell(k);
  return s.empty() ? "-" : s;
}

// "model base on cpu, 2 adapters, 1 running, 0 queued" (the full block: `wb serve status`).
std::string serving_line(const json& s) {
  if (!s.is_object() || !s.value("serving", true) || !s.contains("model")) return "none";
  const json adapters = s.value("adapters", json::array());
  const std::size_t n = adapters.is_array() ? adapters.size() : 0;
  return "model " + cell(s, "model") + " on " + cell(s, "device") + ", " + std::to_string(n) +
         (n == 1 ? " adapter, " : " adapters, ") + cell(s, "running") + " running, " + cell(s, "queued") + " queued";
}

// Which socket this wb talks to, and why (--socket, $WB_SOCKET, or the config file / default).
std::string socket_origin(const Context& ctx) {
  if (!ctx.opts.socket.empty()) return ctx.opts.socket + " (--socket)";
  if (const char* env = std::getenv("WB_SOCKET"); env && *env) return std::string(env) + " ($WB_SOCKET)";
  const auto cfg = config::default_config_path();
  return ctx.socket_path() + (cfg ? " (config " + cfg->string() + ")" : " (default)");
}

int run_status(const Context& ctx) {
  const json st = ctx.client().get("/v1/status");
  if (ctx.opts.json) {
    print_json(*ctx.out, st);
    return kExitOk;
  }
  std::ostream& os = *ctx.out;
  std::string up = st.contains("uptime_s") && st["uptime_s"].is_number()
                       ? format_duration(st["uptime_s"].get<double>())
                       : "-";
  os << "workbenchd " << cell(st, "version") << " (pid " << cell(st, "pid") << ", up " << up
     << ")\n";
  std::vector<std::pair<std::string, std::string>> f = {
      {"config", st.value("config", json()).is_string() ? cell(st, "config") : "none (defaults)"},
      {"socket", cell(st, "socket")},
      {"data dir", cell(st, "data_dir")},
      {"device", cell(st, "device")},
      {"models", cell(st, "models")},
      {"datasets", cell(st, "datasets")},
      {"adapters", cell(st, "adapters")},
  };
  if (st.contains("jobs") && st["jobs"].is_object()) {
    std::string jobs;
    for (const char* k : {"queued", "running", "held", "succeeded", "failed", "cancelled"})
      jobs += (jobs.empty() ? "" : ", ") + std::string(k) + " " + cell(st["jobs"], k);
    f.emplace_back("jobs", jobs);
  }
  f.emplace_back("serving", serving_line(st.value("serving", json())));
  f.emplace_back("wb uses", socket_origin(ctx));
  print_fields(os, f);

  const json plugins = st.value("plugins", json::array());
  if (plugins.is_array() && !plugins.empty()) {
    os << '\n';
    Table t({"PLUGIN", "VERSION", "JOB KINDS", "SERVING", "STATUS"}, 80);
    for (const auto& p : plugins) {
      std::string status = cell(p, "status");
      if (p.contains("error") && p["error"].is_string() && !p["error"].get<std::string>().empty())
        status += ": " + p["error"].get<std::string>();
      t.add_row({cell(p, "name"), cell(p, "version"), join_kinds(p.value("job_kinds", json())),
                 cell(p, "serving"), status});
    }
    t.print(os);
  } else {
    os << "\nno plugins loaded\n";
  }
  return kExitOk;
}

}  // namespace

void register_status(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("status", "show the daemon's state: plugins, queue, counts");
  cmd->callback([&ctx] { ctx.action = [&ctx] { return run_status(ctx); }; });
}

}  // namespace wb::cli
