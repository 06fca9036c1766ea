// wb-worker --channel-fd N — runs one job's plugin for workbenchd, which starts it.
//
// Reads the daemon's "start" message from the channel on fd N (channel.h), loads the one plugin
// file it names with the daemon's own loader (PluginHost) and the host table carried over the
// channel (remote_host.h), runs the job on this thread, sends the plugin's result and exits 0.
// Exit 2: bad command line or no start message; 70: the daemon closed the channel.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "jobs/job_context.h"
#include "plugins/plugin_host.h"
#include "worker/channel.h"
#include "worker/remote_host.h"

namespace {

int run(int fd) {
  wb::worker::Channel ch(fd);
  std::optional<nlohmann::json> start;
  try {
    start = ch.receive();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "wb-worker: %s\n", e.what());
  }
  if (!start || start->value("type", "") != "start") {
    std::fprintf(stderr, "wb-worker: the daemon sent no start message\n");
    return 2;
  }
  const nlohmann::json& s = *start;
  wb::worker::RemoteHost remote(ch, s);

  wb_job job;
  job.id = s.value("job_id", std::int64_t(0));
  job.host_ctx = &remote;
  job.kind = s.value("kind", "");
  job.dir = s.value("dir", "");

  wb::daemon::PluginHost plugins(remote.table(), remote.table_v2(), s.value("init_config", "{}"));
  const std::string path = s.value("plugin", "");
  wb::daemon::PluginInfo info = plugins.load_file(path);
  const wb_plugin* plugin = plugins.for_kind(job.kind);
  if (!info.loaded || !plugin) {
    remote.send_result(WB_ERROR, "the job's worker could not load plugin " + path + " for job kind '" + job.kind +
                                     "': " + (info.loaded ? "it does not run that kind" : info.error));
    return 0;
  }
  const std::string spec = s.value("spec", "{}");
  wb_error err{};
  wb_status st = WB_ERROR;
  try {
    st = plugin->run(&job, job.kind.c_str(), spec.c_str(), &err);
  } catch (...) {
    st = WB_ERROR;
    wb_error_set(&err, "plugin threw an exception across the C ABI");
  }
  err.message[WB_ERROR_CAPACITY - 1] = 0;
  remote.send_result(st, err.message);
  plugins.shutdown_all();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int fd = -1;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--channel-fd") == 0) fd = std::atoi(argv[i + 1]);
  if (fd < 0) {
    std::fprintf(stderr, "usage: wb-worker --channel-fd N  (started by workbenchd for one job)\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  // Its log lines go to the daemon's stderr, marked as the worker's.
  auto logger = spdlog::stderr_logger_mt("wb-worker");
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [wb-worker " + std::to_string(::getpid()) + "] [%l] %v");
  spdlog::set_default_logger(logger);
  int rc = run(fd);
  std::fflush(nullptr);
  // Skip static destructors: a plugin's thread pools (OpenMP, BLAS) need not wind down in order.
  std::_Exit(rc);
}
