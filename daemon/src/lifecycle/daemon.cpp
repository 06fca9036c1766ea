#include "lifecycle/daemon.h"

#include <utility>

#include <csignal>
#include <future>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include "wb/json/parse.h"
#include "wb/json/reader.h"
#include "handlers/app.h"
#include "handlers/handlers.h"
#include "handlers/routes.h"
#include "http/api_error.h"
#include "http/router.h"
#include "http/server.h"
#include "http/tcp_listener.h"
#include "http/web_access.h"
#include "http/worker_pool.h"
#include "lifecycle/instance_lock.h"
#include "plugins/host_api.h"
#include "wb/storage/error.h"

namespace wb::daemon {
namespace fs = std::filesystem;
namespace net = boost::asio;

struct Daemon::Impl {
  config::Config cfg;
  std::chrono::milliseconds grace;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<bool> shutting_down{false};

  // Declaration order is construction order; destruction runs in reverse (server before
  // scheduler before plugins before storage before the lock).
  InstanceLock lock;
  storage::Store store;
  EventHub hub;
  JobEvents events{store, hub};
  HostServices host_services;
  // Forgets host_services as the ABI 2 tables' context once the plugins are gone (declared before
  // `plugins`, so it is destroyed after them).
  struct V2TableRelease {
    HostServices* services;
    ~V2TableRelease() { release_host_table_v2(services); }
  } v2_release{&host_services};
  PluginHost plugins;
  Scheduler scheduler;
  RequestMetrics requests;
  Serving serving{plugins};
  Residency residency{cfg, store, serving};
  App app{cfg, store, plugins, scheduler, events, requests, serving, started, shutting_down, residency};
  Router router;
  net::io_context ioc;
  net::signal_set signals{ioc, SIGTERM, SIGINT};
  // Long request work (imports, exports, plugin methods). Declared before the servers, so it
  // outlives them; Daemon::run() joins it before the plugins are unloaded.
  std::shared_ptr<WorkerPool> workers =
      std::make_shared<WorkerPool>(cfg.limits.worker_threads, static_cast<std::size_t>(cfg.limits.worker_queue));
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<TcpListener> tcp;  // config [tcp]; null when disabled

  Impl(config::Config c, std::chrono::milliseconds g)
      : cfg(std::move(c)),
        grace(g),
        lock(cfg.data_dir),
        store(database_path(cfg), storage::OpenOptions{.quick_check = true, .refuse_empty_file = true}),
        host_services{&events, fs::absolute(cfg.data_dir).string()},
        plugins(make_host_table(&host_services), make_host_table_v2(&host_services), plugin_config(cfg)),
        scheduler(events, plugins, cfg.data_dir / "jobs", scheduler_options(cfg)) {}

  static Scheduler::Options scheduler_options(const config::Config& c) {
    Scheduler::Options o;
    o.max_attempts = c.jobs.max_attempts;
    o.in_process = c.jobs.isolation == config::Isolation::InProcess;
    o.heartbeat_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(c.jobs.heartbeat_timeout_s * 1000));
    o.stop_grace = std::chrono::milliseconds(static_cast<std::int64_t>(c.jobs.stop_grace_s * 1000));
    o.socket = fs::absolute(c.socket);
    o.mpirun = c.jobs.mpirun;
    o.mpirun_args = c.jobs.mpirun_args;
    return o;
  }

  // Runs between taking the lock and opening storage: refuse a live daemon on the socket (or
  // remove a stale socket file) before touching anything else.
  static fs::path database_path(const config::Config& c) {
    prepare_socket_path(c.socket);
    return c.data_dir / "workbench.db";
  }

  static std::string plugin_config(const config::Config& c) {
    nlohmann::json j = {{"device", std::string(config::to_string(c.device))},
                        {"threads", c.threads > 0 ? c.threads : int(std::thread::hardware_concurrency())},
                        {"data_dir", fs::absolute(c.data_dir).string()},
                        {"serving",
                         {{"model", c.serving.model},
                          {"max_batch", c.serving.max_batch},
                          {"max_context", c.serving.max_context},
                          {"max_adapters", c.serving.max_adapters},
                          {"load_on_request", c.serving.load_on_request},
                          {"idle_unload_s", c.serving.idle_unload_s}}}};
    return j.dump();
  }

  // [serving] model: load it at start (a failure is logged; the daemon still serves).
  void start_configured_model() {
    const std::string& model = cfg.serving.model;
    if (model.empty()) return;
    Request req;  // the route itself, so the configured start behaves as POST /v1/serving
    req.method = "POST";
    req.path = req.target = "/v1/serving";
    req.body = nlohmann::json{{"model", model}}.dump();
    Response r = handle(req);  // never throws
    if (r.status != 200) spdlog::error("serving.model '{}' was not loaded: {}", model, r.body);
    else spdlog::info("serving model {}", model);
  }

  // POST /v1/jobs/{id}/worker: a job's worker reporting (handlers/worker_frames.cpp).
  static bool is_worker_frame(const Request& req) {
    const std::string& p = req.path;
    const std::string prefix = "/v1/jobs/", suffix = "/worker";
    return req.method == "POST" && p.size() > prefix.size() + suffix.size() && p.rfind(prefix, 0) == 0 &&
           p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0;
  }

  Response handle(Request& req) {
    try {
      // While the running job winds down, its workers still report (a rank's last checkpoint).
      if (shutting_down && req.path != "/v1/health" && req.path != "/v1/status" && !is_worker_frame(req))
        throw unavailable("the daemon is shutting down");
      // An annotator's token: the request labels for that annotator, and may only label.
      req.annotator.reset();
      // (The admin token is no annotator's: its requests, OpenAI ones included, never wait for
      // the store here.)
      const auto token = bearer_token(req);
      if (token && !(cfg.tcp.enabled && constant_time_equal(*token, cfg.tcp.token)))
        if (auto name = store.annotators().find_by_token(*token)) {
          if (!annotator_may(req.method, req.path))
            throw ApiError(403, "forbidden", annotator_forbidden_message(req.method, req.path));
          req.annotator = std::move(name);
        }
      return router.dispatch(req);
    } catch (const ApiError& e) {
      return error_response(e.status(), e.code(), e.what());
    } catch (const JsonParseError& e) {
      return error_response(400, "invalid_json", e.what());
    } catch (const JsonFieldError& e) {
      return error_response(400, "invalid_request", e.what());
    } catch (const storage::Error& e) {
      switch (e.code()) {
        case storage::ErrorCode::NotFound: return error_response(404, "not_found", e.what());
        case storage::ErrorCode::Conflict: return error_response(409, "conflict", e.what());
        case storage::ErrorCode::Invalid: return error_response(400, "invalid_request", e.what());
        case storage::ErrorCode::InvalidDataset: return error_response(400, "invalid_dataset", e.what());
        case storage::ErrorCode::DiskFull:
          spdlog::error("{} {}: {}", req.method, req.target, e.what());
          return error_response(507, "disk_full", e.what());
        default:
          spdlog::error("{} {}: storage error: {}", req.method, req.target, e.what());
          return error_response(500, "internal", e.what());
      }
    } catch (const std::exception& e) {
      spdlog::error("{} {}: unhandled exception: {}", req.method, req.target, e.what());
      return error_response(500, "internal", std::string("internal error: ") + e.what());
    } catch (...) {
      spdlog::error("{} {}: unhandled non-standard exception", req.method, req.target);
      return error_response(500, "internal", "internal error");
    }
  }
};

Daemon::Daemon(config::Config cfg, std::chrono::milliseconds grace) {
  impl_ = std::make_unique<Impl>(std::move(cfg), grace);
  Impl& d = *impl_;
  spdlog::info("workbenchd {} starting: data dir {}, socket {}", "0.1.0", d.cfg.data_dir.string(), d.cfg.socket.string());
  d.plugins.load_dirs(d.cfg.plugin_search_dirs());
  add_routes(d.router, d.app);
  d.scheduler.recover();
  handlers::remove_unfinished_datasets(d.store, "at start-up");

  HttpServer::Options o;
  o.socket = d.cfg.socket;
  o.max_header_bytes = d.cfg.limits.max_header_bytes;
  std::uint64_t big = d.cfg.limits.max_body_bytes, small = d.cfg.limits.max_request_bytes;
  o.body_limit = [big, small](const std::string& method, const std::string& path) {
    return method == "POST" && path == "/v1/datasets" ? big : small;
  };
  o.observer = [&d](const std::string& route, int status) { d.requests.observe(route, status); };
  const auto& lim = d.cfg.limits;
  o.max_connections = static_cast<std::size_t>(lim.max_connections);
  o.header_timeout = std::chrono::seconds(lim.header_timeout_s);
  o.body_timeout = std::chrono::seconds(lim.body_timeout_s);
  o.idle_timeout = std::chrono::seconds(lim.idle_timeout_s);
  // The route table says which handlers may take long; those never run on an I/O thread.
  o.workers = d.workers;
  o.offload = [&d](const Request& head) { return d.router.runs(head.method, head.path) == Router::Runs::OnWorkers; };
  if (d.cfg.tcp.enabled) {
    TcpListener::Limits tl;
    tl.max_body_bytes = d.cfg.tcp.max_body_bytes;
    tl.max_connections = static_cast<std::size_t>(d.cfg.tcp.max_connections);
    tl.metrics_without_token = d.cfg.tcp.metrics_without_token;
    tl.annotator_of = [&d](const std::string& token) -> std::optional<std::string> {
      try {
        return d.store.annotators().find_by_token(token);
      } catch (const std::exception& e) {  // the gate answers 401; the daemon keeps serving
        spdlog::error("annotator token lookup failed: {}", e.what());
        return std::nullopt;
      }
    };
    tl.instance = d.cfg.instance;
    d.tcp = std::make_unique<TcpListener>(d.ioc, o, [&d](Request& r) { return d.handle(r); }, d.cfg.tcp.host,
                                          d.cfg.tcp.port, d.cfg.tcp.token, tl);
    d.tcp->listen();
    const std::string& h = d.cfg.tcp.host;
    d.scheduler.set_tcp_endpoint("http://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" +
                                     std::to_string(d.tcp->port()),
                                 d.cfg.tcp.token);
    spdlog::info("OpenAI-compatible routes on http://{}:{} (bearer token required)", d.cfg.tcp.host, d.tcp->port());
  }
  d.server = std::make_unique<HttpServer>(d.ioc, std::move(o), [&d](Request& r) { return d.handle(r); });
  d.server->listen();
  d.start_configured_model();
  // Only now: a failure above must not leave a job running in a plugin that is being unloaded.
  d.scheduler.start();
  spdlog::info("listening on {}", d.cfg.socket.string());
}

Daemon::~Daemon() = default;

void Daemon::request_stop() {
  net::post(impl_->ioc, [this] {
    boost::system::error_code ec;
    impl_->signals.cancel(ec);
  });
}

int Daemon::run() {
  Impl& d = *impl_;
  std::promise<void> stop;
  d.signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (!ec) spdlog::info("received {}; shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    stop.set_value();
  });
  int n = std::max(1, d.cfg.http_threads);
  std::vector<std::thread> threads;
  // A work guard keeps the io threads alive while the main thread drives the shutdown.
  auto guard = net::make_work_guard(d.ioc);
  for (int i = 0; i < n; ++i) threads.emplace_back([&] {
    for (;;) {
      try {
        d.ioc.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("io thread: {}", e.what());
      }
    }
  });
  stop.get_future().wait();

  d.shutting_down = true;
  // The listeners accept until the running job has wound down: the ranks of a data-parallel job
  // (Unix socket) and a Slurm worker (TCP) send each frame on a connection of its own, rank 0's
  // last checkpoint included. Every other request is answered 503 meanwhile (handle()).
  const bool job_stopped = d.scheduler.shutdown(d.grace);
  d.server->stop_accepting();
  if (d.tcp) d.tcp->stop_accepting();
  if (!job_stopped) {
    // The plugin is still running on a detached thread: unloading it would crash. Exit now; the
    // socket is gone, SQLite (WAL) is consistent at every commit, the kernel drops the lock, and
    // the next start re-queues the job.
    spdlog::warn("the running job did not stop within {} ms; exiting without waiting for it (it is "
                 "recovered at the next start)", d.grace.count());
    spdlog::shutdown();
    std::_Exit(0);
  }
  // Close every connection and let the io threads drain: each session's pending operation
  // completes with an error and the session ends, so run() returns on its own. Bounded: after
  // 5 s the io_context is stopped regardless.
  d.server->close_all();
  if (d.tcp) d.tcp->close_all();
  guard.reset();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!d.ioc.stopped() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  d.ioc.stop();
  for (auto& t : threads) t.join();
  d.workers->stop();  // a plugin method still running finishes before its plugin is unloaded
  d.residency.stop();
  d.plugins.shutdown_all();
  spdlog::info("workbenchd stopped");
  return 0;
}

}  // namespace wb::daemon
