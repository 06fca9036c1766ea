// wb/config/config.h — the workbench configuration file (library `wb_config`).
//
// The daemon and the CLI both read the same TOML file (docs/CONFIG.md lists every key):
//
//     data_dir     = "~/.local/share/workbench"       # SQLite file, job dirs, logs
//     socket       = "$XDG_RUNTIME_DIR/workbench/wb.sock"
//     plugin_dirs  = ["/usr/lib/workbench/plugins"]   # replaces the default list
//     device       = "auto"                           # auto | cpu | cuda
//     threads      = 0                                # compute threads, 0 = all cores
//     http_threads = 4                                # io threads serving HTTP
//     instance     = ""                               # name sent as X-Workbench-Instance over TCP
//     [limits]  max_body_bytes, max_request_bytes, max_header_bytes, max_connections,
//               header_timeout_s, body_timeout_s, idle_timeout_s, worker_threads, worker_queue
//     [serving] model, max_batch, max_context, max_adapters, load_on_request, idle_unload_s,
//               batch_invariant, shared_adapters
//     [tcp]     enabled, host, port, token, max_body_bytes, max_connections,
//               metrics_without_token
//     [jobs]    max_attempts, max_job_memory, isolation, heartbeat_timeout_s, stop_grace_s, mpirun,
//               mpirun_args
//
// Loading is strict: an unknown key, a value of the wrong type or out of range throws
// ConfigError naming the key (e.g. "workbench.toml: unknown key 'limits.max_bodyy'").
// Every key is optional; a missing one keeps its documented default (see defaults()).
//
// Path rules: "~" at the start of a path expands to $HOME; a relative path in a file is taken
// relative to the file's directory.
#ifndef WB_CONFIG_H
#define WB_CONFIG_H

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wb::config {

// Raised for an unreadable/unparsable file or a bad key; what() names the file and the key.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Device { Auto, Cpu, Cuda };
std::string_view to_string(Device d);  // "auto" | "cpu" | "cuda"

struct Limits {
  std::uint64_t max_body_bytes = 256ull << 20;    // POST /v1/datasets bodies (inline JSONL)
  std::uint64_t max_request_bytes = 1ull << 20;   // every other route's body
  std::uint32_t max_header_bytes = 64u << 10;     // request line + headers
  int max_connections = 512;                      // open connections on the Unix socket
  int header_timeout_s = 30;                      // a request's header must arrive within this
  int body_timeout_s = 120;                       // ... and its body within this after the header
  int idle_timeout_s = 60;                        // kept-alive connection with no next request
  int worker_threads = 2;                         // imports, exports, plugin methods
  int worker_queue = 16;                          // waiting beyond busy workers; more get 503
};

struct Serving {
  std::string model;          // base model name loaded at start; empty = none
  int max_batch = 8;          // sequences decoded together
  int max_context = 2048;     // tokens per sequence
  int max_adapters = 8;       // resident LoRA adapters
  // Residency on request (docs/CONFIG.md): a request naming a registered model or adapter that is
  // not resident loads it; adapters (and, with load_on_request, the model) idle this long are
  // unloaded (0 = never; a request's keep_alive overrides it for what it names).
  bool load_on_request = false;
  double idle_unload_s = 0;
  // Decode passes through the fixed-order row kernel: a request's tokens do not depend on what
  // else is batched with it (CPU only; slower at many concurrent requests). Off by default.
  bool batch_invariant = false;
  // A directory of adapters shared by several daemons, one PEFT folder per `<name>@<version>`
  // (the layout of <data_dir>/adapters/NAME). A request naming such an adapter that this daemon
  // has not registered loads it from there (serving/residency.h). Empty: none.
  std::filesystem::path shared_adapters;
};

struct Tcp {
  bool enabled = false;       // OpenAI-compatible routes over TCP; off by default
  // The address to bind: loopback, one of the machine's addresses, or 0.0.0.0 / :: (all).
  std::string host = "127.0.0.1";
  std::uint16_t port = 11435;
  std::string token;          // bearer token; required (non-empty) when enabled
  std::uint64_t max_body_bytes = 4ull << 20;  // request bodies over TCP
  int max_connections = 64;                   // open TCP connections
  bool metrics_without_token = false;         // GET /metrics over TCP without the token (scrapers)
};

// Where a job's plugin code runs: in a wb-worker process of its own (a crash there fails or
// re-queues the job, the daemon keeps serving), or on the daemon's scheduler thread.
enum class Isolation { Process, InProcess };
std::string_view to_string(Isolation i);  // "process" | "in_process"

struct Jobs {
  // Runs of one job the daemon died under before it stops starting it on its own (failed with
  // the reason). The first such death resumes the job; the second in a row holds it for a person
  // (`wb job retry`).
  int max_attempts = 3;
  // Largest memory estimate (bytes) a submitted job may have; 0: only the machine's limit
  // (MemAvailable and the cgroup's memory.max) applies.
  std::uint64_t max_job_memory = 0;
  Isolation isolation = Isolation::Process;
  // A worker that sends nothing (its heartbeat thread writes every quarter of this) for this long
  // is stopped: SIGTERM, then SIGKILL after stop_grace_s.
  double heartbeat_timeout_s = 60;
  // After a cancel (or a missed heartbeat) is sent, how long a worker has before SIGTERM, and
  // after SIGTERM before SIGKILL.
  double stop_grace_s = 10;
  // The launcher of data-parallel jobs (spec world > 1): `mpirun -np N --oversubscribe <args>
  // wb-worker ...`. A name is looked up on the daemon's PATH; args are added before wb-worker.
  std::string mpirun = "mpirun";
  std::vector<std::string> mpirun_args;
};

struct Config {
  std::filesystem::path data_dir;                  // default_data_dir()
  std::filesystem::path socket;                    // default_socket_path()
  // Explicit plugin directories; empty means the default list (see plugin_search_dirs()).
  std::vector<std::filesystem::path> plugin_dirs;
  Device device = Device::Auto;
  int threads = 0;       // 0 = std::thread::hardware_concurrency()
  int http_threads = 4;  // 1..64
  // This daemon's name among replicas; when set, every TCP response carries it in the
  // X-Workbench-Instance header (which replica answered, behind a load balancer).
  std::string instance;
  Limits limits;
  Serving serving;
  Tcp tcp;
  Jobs jobs;
  // Where the values came from (empty when no file was read); for logs and `wb status`.
  std::filesystem::path source;

  // plugin_dirs when set, else {builtin_plugin_dir(), data_dir/"plugins"}.
  std::vector<std::filesystem::path> plugin_search_dirs() const;
};

// Every key at its default.
Config defaults();

// Parses TOML text; `origin` names it in errors and anchors relative paths (a file path, or
// empty for "relative to the current directory"). Keys absent from the text keep defaults.
// Throws ConfigError.
Config load_string(std::string_view toml_text, const std::filesystem::path& origin = {});

// Reads and parses a file. Throws ConfigError if it is missing or bad.
Config load_file(const std::filesystem::path& file);

// $WB_CONFIG if set (even if the file is missing: that is then an error at load), else
// ~/.config/workbench/workbench.toml when that file exists, else nullopt.
std::optional<std::filesystem::path> default_config_path();

// load_file(default_config_path()) or defaults() when there is no config file.
Config load_default();

// $XDG_DATA_HOME/workbench, else ~/.local/share/workbench.
std::filesystem::path default_data_dir();

// $XDG_RUNTIME_DIR/workbench/wb.sock, else ~/.local/share/workbench/run/wb.sock (PROTOCOL.md).
std::filesystem::path default_socket_path();

// The build's plugin output directory, baked in at compile time (build/lib/workbench/plugins).
std::filesystem::path builtin_plugin_dir();

// "~/x" → "$HOME/x"; other paths unchanged.
std::filesystem::path expand_home(const std::filesystem::path& p);

}  // namespace wb::config

#endif  // WB_CONFIG_H
