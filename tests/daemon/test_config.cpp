// wb_config: defaults, strict keys, types, ranges, path rules, default paths.
#include <cstdlib>
#include <fstream>

#include <catch2/catch.hpp>

#include "daemon_process.h"
#include "wb/config/config.h"

using namespace wb::config;
namespace fs = std::filesystem;

TEST_CASE("config defaults are documented values", "[config]") {
  Config c = defaults();
  CHECK(c.device == Device::Auto);
  CHECK(c.http_threads == 4);
  CHECK(c.limits.max_body_bytes == 256ull << 20);
  CHECK(c.limits.max_request_bytes == 1ull << 20);
  CHECK_FALSE(c.tcp.enabled);
  CHECK(c.tcp.host == "127.0.0.1");
  CHECK(c.tcp.max_body_bytes == 4ull << 20);
  CHECK(c.tcp.max_connections == 64);
  CHECK(c.limits.max_connections == 512);
  CHECK(c.limits.header_timeout_s == 30);
  CHECK(c.limits.body_timeout_s == 120);
  CHECK(c.limits.idle_timeout_s == 60);
  CHECK(c.limits.worker_threads == 2);
  CHECK(c.limits.worker_queue == 16);
  CHECK_FALSE(c.serving.load_on_request);
  CHECK(c.serving.idle_unload_s == 0);
  CHECK(c.jobs.max_attempts == 3);
  CHECK(c.jobs.max_job_memory == 0);
  CHECK(c.jobs.isolation == Isolation::Process);
  CHECK(c.jobs.heartbeat_timeout_s == 60);
  CHECK(c.jobs.stop_grace_s == 10);
  CHECK(c.jobs.mpirun == "mpirun");
  CHECK(c.jobs.mpirun_args.empty());
  auto dirs = c.plugin_search_dirs();
  REQUIRE(dirs.size() == 2);
  CHECK(dirs[0] == builtin_plugin_dir());
  CHECK(dirs[1] == c.data_dir / "plugins");
}

TEST_CASE("config loads every key", "[config]") {
  Config c = load_string(R"(
data_dir = "/srv/wb"
socket = "/run/wb/wb.sock"
plugin_dirs = ["/opt/a", "rel"]
device = "cpu"
threads = 3
http_threads = 2
[limits]
max_body_bytes = 2048
max_request_bytes = 4096
max_header_bytes = 8192
[serving]
model = "tiny"
max_batch = 4
max_context = 512
max_adapters = 2
load_on_request = true
idle_unload_s = 2.5
batch_invariant = true
[tcp]
enabled = true
host = "127.0.0.1"
port = 9000
token = "secret"
)", "/etc/wb/workbench.toml");
  CHECK(c.data_dir == "/srv/wb");
  CHECK(c.socket == "/run/wb/wb.sock");
  REQUIRE(c.plugin_dirs.size() == 2);
  CHECK(c.plugin_dirs[1] == "/etc/wb/rel");  // relative to the file's directory
  CHECK(c.plugin_search_dirs() == c.plugin_dirs);
  CHECK(c.device == Device::Cpu);
  CHECK(c.threads == 3);
  CHECK(c.http_threads == 2);
  CHECK(c.limits.max_body_bytes == 2048);
  CHECK(c.limits.max_header_bytes == 8192);
  CHECK(c.serving.model == "tiny");
  CHECK(c.serving.max_context == 512);
  CHECK(c.serving.load_on_request);
  CHECK(c.serving.idle_unload_s == 2.5);
  CHECK(c.serving.batch_invariant);
  CHECK_FALSE(defaults().serving.batch_invariant);  // off unless configured
  CHECK(c.tcp.enabled);
  CHECK(c.tcp.port == 9000);
}

static std::string error_of(const std::string& text) {
  try {
    load_string(text, "w.toml");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("config rejects unknown keys, wrong types and bad values naming the key", "[config]") {
  CHECK_THAT(error_of("datadir = \"/x\""), Catch::Contains("unknown key 'datadir'"));
  CHECK_THAT(error_of("[limits]\nmax_bodyy = 5"), Catch::Contains("unknown key 'limits.max_bodyy'"));
  CHECK_THAT(error_of("[nope]\nx = 1"), Catch::Contains("unknown key 'nope'"));
  CHECK_THAT(error_of("threads = \"4\""), Catch::Contains("key 'threads': expected an integer"));
  CHECK_THAT(error_of("http_threads = 0"), Catch::Contains("key 'http_threads': expected an integer 1..64"));
  CHECK_THAT(error_of("device = \"tpu\""), Catch::Contains("key 'device': expected one of auto, cpu, cuda"));
  CHECK_THAT(error_of("plugin_dirs = \"/x\""), Catch::Contains("key 'plugin_dirs'"));
  CHECK_THAT(error_of("[tcp]\nenabled = true"), Catch::Contains("key 'tcp.token'"));
  CHECK_THAT(error_of("[limits]\nheader_timeout_s = 0"), Catch::Contains("key 'limits.header_timeout_s'"));
  CHECK_THAT(error_of("[limits]\nworker_threads = 0"), Catch::Contains("key 'limits.worker_threads'"));
  CHECK_THAT(error_of("[tcp]\nmax_connections = 0"), Catch::Contains("key 'tcp.max_connections'"));
  CHECK_THAT(error_of("[serving]\nbatch_invariant = 1"),
             Catch::Contains("key 'serving.batch_invariant': expected true or false"));
  CHECK_THAT(error_of("limits = 3"), Catch::Contains("key 'limits': expected a table"));
  CHECK_THAT(error_of("[serving]\nidle_unload_s = -1"), Catch::Contains("key 'serving.idle_unload_s': expected a number"));
  CHECK_THAT(error_of("[serving]\nidle_unload_s = \"5m\""), Catch::Contains("key 'serving.idle_unload_s'"));
  CHECK_THAT(error_of("[serving]\nload_on_request = 1"), Catch::Contains("key 'serving.load_on_request'"));
  CHECK_THAT(error_of("data_dir = "), Catch::Contains("w.toml:1"));
  CHECK_THAT(error_of("[jobs]\nmax_attempts = 0"), Catch::Contains("key 'jobs.max_attempts'"));
  CHECK_THAT(error_of("[jobs]\nmax_job_memory = -1"), Catch::Contains("key 'jobs.max_job_memory'"));
  CHECK_THAT(error_of("[jobs]\nmax_attemps = 2"), Catch::Contains("unknown key 'jobs.max_attemps'"));
  // A number beyond the double range names the key (or, when TOML itself refuses it, the line).
  CHECK_THAT(error_of("[jobs]\nmax_job_memory = 1e400"),
             Catch::Contains("jobs.max_job_memory") || Catch::Contains("w.toml:2"));
  Config j = load_string("[jobs]\nmax_attempts = 5\nmax_job_memory = 1073741824\n");
  CHECK(j.jobs.max_attempts == 5);
  CHECK(j.jobs.max_job_memory == 1073741824u);
  CHECK_THAT(error_of("[jobs]\nisolation = \"thread\""),
             Catch::Contains("key 'jobs.isolation': expected one of process, in_process, got 'thread'"));
  CHECK_THAT(error_of("[jobs]\nheartbeat_timeout_s = 0"), Catch::Contains("key 'jobs.heartbeat_timeout_s'"));
  CHECK_THAT(error_of("[jobs]\nstop_grace_s = -1"), Catch::Contains("key 'jobs.stop_grace_s'"));
  Config w = load_string("[jobs]\nisolation = \"in_process\"\nheartbeat_timeout_s = 2.5\nstop_grace_s = 1\n");
  CHECK(w.jobs.isolation == Isolation::InProcess);
  CHECK(w.jobs.heartbeat_timeout_s == 2.5);
  CHECK(w.jobs.stop_grace_s == 1);
  // The launcher of data-parallel jobs: a name stays a name (PATH), args are strings.
  CHECK_THAT(error_of("[jobs]\nmpirun = \"\""), Catch::Contains("key 'jobs.mpirun'"));
  CHECK_THAT(error_of("[jobs]\nmpirun_args = \"--bind-to none\""),
             Catch::Contains("key 'jobs.mpirun_args': expected an array of strings"));
  CHECK_THAT(error_of("[jobs]\nmpirun_args = [1]"), Catch::Contains("key 'jobs.mpirun_args': expected an array of strings"));
  Config m = load_string("[jobs]\nmpirun = \"mpiexec\"\nmpirun_args = [\"--bind-to\", \"none\"]\n");
  CHECK(m.jobs.mpirun == "mpiexec");
  CHECK(m.jobs.mpirun_args == std::vector<std::string>{"--bind-to", "none"});
}

TEST_CASE("config file: missing file, default paths and env overrides", "[config]") {
  wbtest::TempDir tmp;
  CHECK_THROWS_WITH(load_file(tmp.path() / "none.toml"), Catch::Contains("cannot read config file"));
  fs::path f = tmp.path() / "w.toml";
  std::ofstream(f) << "data_dir = \"data\"\n";
  Config c = load_file(f);
  CHECK(c.data_dir == tmp.path() / "data");
  CHECK(c.source == fs::absolute(f));

  ::setenv("WB_CONFIG", f.c_str(), 1);
  REQUIRE(default_config_path());
  CHECK(*default_config_path() == f);
  CHECK(load_default().data_dir == tmp.path() / "data");
  ::unsetenv("WB_CONFIG");

  ::setenv("XDG_RUNTIME_DIR", "/run/user/1234", 1);
  CHECK(default_socket_path() == "/run/user/1234/workbench/wb.sock");
  ::unsetenv("XDG_RUNTIME_DIR");
  ::setenv("HOME", "/home/alice", 1);
  CHECK(default_socket_path() == "/home/alice/.local/share/workbench/run/wb.sock");
  CHECK(expand_home("~/x") == "/home/alice/x");
}
