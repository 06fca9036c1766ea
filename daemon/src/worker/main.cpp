// wb-worker --channel-fd N — runs one job's plugin for workbenchd, which starts it.
// wb-worker --daemon-url http://HOST:PORT --job ID --run RUN --token-file FILE — the same for a
//   worker Slurm started (launcher = "slurm"): frames go over the daemon's TCP listener
//   (http_transport.h) with the bearer token read from FILE; the first frame ("hello") is
//   answered with the start message.
// wb-worker --daemon-socket PATH --job ID --run RUN — one rank of a data-parallel job, started
//   by `mpirun -np N` (mpi_launcher.h): the same frames over the daemon's Unix socket, each with
//   this process's MPI rank (OMPI_COMM_WORLD_RANK, PMIX_RANK or PMI_RANK). Before the plugin is
//   loaded, libmpi is loaded RTLD_GLOBAL: the plugin is loaded RTLD_LOCAL, and OpenMPI builds
//   whose components (dlopened by MPI_Init) expect libmpi's symbols global fail otherwise.
//   Debian's OpenMPI 4.1 runs either way (tried: a wb-worker without it passed tests/mpi).
//
// Reads the daemon's "start" message from the channel on fd N (channel.h), loads the one plugin
// file it names with the daemon's own loader (PluginHost) and the host table carried over the
// channel (remote_host.h), runs the job on this thread, sends the plugin's result and exits 0.
// Exit 2: bad command line or no start message; 70: the daemon closed the channel.
#include <dlfcn.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <csignal>

#include <csignal>
#include <fstream>
#include <memory>
#include <sstream>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "jobs/job_context.h"
#include "plugins/plugin_host.h"
#include "worker/channel.h"
#include "worker/http_transport.h"
#include "worker/remote_host.h"

namespace {

// "VmRSS" or "VmHWM" of this process in bytes (0 when /proc says nothing).
double own_memory(const std::string& key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(key + ":", 0) == 0) return std::stod(line.substr(key.size() + 1)) * 1024.0;  // kB
  return 0;
}

// The worker's resident memory when the job started (the process with its plugin loaded) and its
// peak (VmHWM: since the exec, the job's whole footprint), as the job's metrics
// worker_start_rss_bytes and worker_peak_rss_bytes and a log line, so a job's memory is seen
// without tools (`wb job show`, docs/PERFORMANCE.md).
void report_peak_memory(const wb_host& host, wb_job& job, double start_rss) {
  const double peak = own_memory("VmHWM");
  if (peak <= 0) return;
  host.job_metric(host.ctx, &job, 0, "worker_start_rss_bytes", start_rss);
  host.job_metric(host.ctx, &job, 0, "worker_peak_rss_bytes", peak);
  const std::string message = "worker memory: " + std::to_string(static_cast<long long>(start_rss / 1e6)) +
                              " MB at the start, peak " + std::to_string(static_cast<long long>(peak / 1e6)) + " MB";
  host.job_log(host.ctx, &job, WB_LOG_INFO, message.c_str());
}

// This process's MPI rank and world size from the launcher's environment (-1, 0 when none).
int env_int(std::initializer_list<const char*> names, int otherwise) {
  for (const char* n : names)
    if (const char* v = std::getenv(n); v && *v) return std::atoi(v);
  return otherwise;
}

// Some OpenMPI builds open their components (dlopen) expecting libmpi's symbols to be global; a
// plugin loaded RTLD_LOCAL brings libmpi in as local. Loading it global first covers those.
void load_mpi_global() {
#ifdef WB_MPI_LIBRARY
  for (const char* lib : {WB_MPI_LIBRARY, "libmpi.so.40", "libmpi.so"})
    if (::dlopen(lib, RTLD_NOW | RTLD_GLOBAL)) return;
  spdlog::warn("cannot load the MPI library globally: {}", ::dlerror());
#endif
}

int run(wb::worker::Transport& ch, bool say_hello) {
  std::optional<nlohmann::json> start;
  try {
    if (say_hello)
      ch.send({{"type", "hello"},
               {"slurm_job_id", std::getenv("SLURM_JOB_ID") ? std::getenv("SLURM_JOB_ID") : ""},
               {"pid", static_cast<long long>(::getpid())}});
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
  const double start_rss = own_memory("VmRSS");
  try {
    st = plugin->run(&job, job.kind.c_str(), spec.c_str(), &err);
  } catch (...) {
    st = WB_ERROR;
    wb_error_set(&err, "plugin threw an exception across the C ABI");
  }
  err.message[WB_ERROR_CAPACITY - 1] = 0;
  report_peak_memory(remote.table(), job, start_rss);
  remote.send_result(st, err.message);
  plugins.shutdown_all();
  return 0;
}

// The token file's first line (its trailing newline dropped).
std::string read_token(const std::string& path) {
  std::ifstream in(path);
  std::string token;
  if (!in || !std::getline(in, token) || token.empty())
    throw std::runtime_error("--token-file " + path + ": cannot read a token from it");
  return token;
}

}  // namespace

int main(int argc, char** argv) {
  int fd = -1;
  std::string url, socket_path, job, run_id, token_file;
  for (int i = 1; i + 1 < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--channel-fd") fd = std::atoi(argv[i + 1]);
    else if (a == "--daemon-url") url = argv[i + 1];
    else if (a == "--daemon-socket") socket_path = argv[i + 1];
    else if (a == "--job") job = argv[i + 1];
    else if (a == "--run") run_id = argv[i + 1];
    else if (a == "--token-file") token_file = argv[i + 1];
  }
  std::unique_ptr<wb::worker::Transport> transport;
  if (fd >= 0) {
    transport = std::make_unique<wb::worker::Channel>(fd);
  } else if (!url.empty() && !job.empty() && !run_id.empty() && !token_file.empty()) {
    try {
      wb::worker::HttpEndpoint ep;
      wb::worker::parse_daemon_url(url, ep);
      ep.job = std::stoll(job);
      ep.run = run_id;
      ep.token = read_token(token_file);
      transport = std::make_unique<wb::worker::HttpTransport>(std::move(ep));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "wb-worker: %s\n", e.what());
      return 2;
    }
  } else if (!socket_path.empty() && !job.empty() && !run_id.empty()) {
    try {
      wb::worker::HttpEndpoint ep;
      ep.unix_socket = socket_path;
      ep.job = std::stoll(job);
      ep.run = run_id;
      ep.rank = env_int({"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}, 0);
      transport = std::make_unique<wb::worker::HttpTransport>(std::move(ep));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "wb-worker: %s\n", e.what());
      return 2;
    }
    // A rank dies with the mpirun that started it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (env_int({"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE"}, 1) > 1) load_mpi_global();
  } else {
    std::fprintf(stderr,
                 "usage: wb-worker --channel-fd N  |  wb-worker --daemon-url http://HOST:PORT --job ID --run RUN "
                 "--token-file FILE  |  wb-worker --daemon-socket PATH --job ID --run RUN  (started by workbenchd "
                 "for one job)\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  // Its log lines go to the daemon's stderr, marked as the worker's.
  auto logger = spdlog::stderr_logger_mt("wb-worker");
  const int rank = socket_path.empty() ? -1 : env_int({"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK"}, 0);
  logger->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [wb-worker " + std::to_string(::getpid()) +
                      (rank >= 0 ? " rank " + std::to_string(rank) : std::string()) + "] [%l] %v");
  spdlog::set_default_logger(logger);
  int rc = run(*transport, fd < 0);
  std::fflush(nullptr);
  // Skip static destructors: a plugin's thread pools (OpenMP, BLAS) need not wind down in order.
  std::_Exit(rc);
}
