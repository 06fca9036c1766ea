// workbenchd [--config FILE] [--data-dir D] [--socket S] [--plugin-dir D]...
// Flags override the config file; logs go to stderr and <data_dir>/workbenchd.log.
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "lifecycle/daemon.h"
#include "lifecycle/private_dir.h"
#include "wb/config/config.h"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  CLI::App cli{"workbenchd: the workbench daemon (fine-tunes and serves Llama-style models)"};
  std::string config_file, data_dir, socket, log_level = "info";
  std::vector<std::string> plugin_dirs;
  cli.add_option("--config", config_file, "TOML config file (default: $WB_CONFIG, else ~/.config/workbench/workbench.toml if present)");
  cli.add_option("--data-dir", data_dir, "data directory (overrides the config)");
  cli.add_option("--socket", socket, "Unix socket path (overrides the config)");
  cli.add_option("--plugin-dir", plugin_dirs, "plugin directory; repeatable; replaces the configured list");
  cli.add_option("--log-level", log_level, "debug | info | warn | error")->check(CLI::IsMember({"debug", "info", "warn", "error"}));
  cli.set_version_flag("--version", "workbenchd 0.1.0");
  CLI11_PARSE(cli, argc, argv);
  // A client hanging up mid-response must not kill the daemon (Asio also sends with MSG_NOSIGNAL).
  std::signal(SIGPIPE, SIG_IGN);
  // The engine's OpenMP loops and OpenBLAS share the cores: spinning OpenMP workers starve the
  // BLAS threads (5x slower forward on 2 cores). libgomp reads this when the first plugin that
  // uses it is loaded, so it must be set before any dlopen. A user's own setting wins.
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);

  wb::config::Config cfg;
  try {
    cfg = config_file.empty() ? wb::config::load_default() : wb::config::load_file(config_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "workbenchd: %s\n", e.what());
    return 2;
  }
  if (!data_dir.empty()) cfg.data_dir = wb::config::expand_home(data_dir);
  if (!socket.empty()) cfg.socket = wb::config::expand_home(socket);
  if (!plugin_dirs.empty()) {
    cfg.plugin_dirs.clear();
    for (auto& d : plugin_dirs) cfg.plugin_dirs.push_back(fs::absolute(wb::config::expand_home(d)));
  }
  cfg.data_dir = fs::absolute(cfg.data_dir);
  cfg.socket = fs::absolute(cfg.socket);

  // Everything the daemon writes is its user's alone: files 0600, folders 0700.
  ::umask(077);
  std::string dir_note;
  try {
    dir_note = wb::daemon::prepare_private_dir(cfg.data_dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "workbenchd: %s\n", e.what());
    return 1;
  }

  try {
    auto console = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>((cfg.data_dir / "workbenchd.log").string());
    auto logger = std::make_shared<spdlog::logger>("workbenchd", spdlog::sinks_init_list{console, file});
    logger->set_level(spdlog::level::from_str(log_level));
    logger->flush_on(spdlog::level::info);
    spdlog::set_default_logger(logger);
    if (!dir_note.empty()) spdlog::warn("{}", dir_note);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "workbenchd: cannot set up logging in %s: %s\n", cfg.data_dir.c_str(), e.what());
    return 1;
  }

  try {
    wb::daemon::Daemon daemon(cfg);
    int rc = daemon.run();
    spdlog::shutdown();
    return rc;
  } catch (const std::exception& e) {
    spdlog::error("cannot start: {}", e.what());
    spdlog::shutdown();
    return 1;
  }
}
