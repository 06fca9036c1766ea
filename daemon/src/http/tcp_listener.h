// tcp_listener.h — the optional OpenAI-compatible TCP listener (config [tcp], CONFIG.md).
//
// Listens on tcp.host (loopback, one of the machine's addresses, or 0.0.0.0 / :: for all; never
// without a token: an empty one is refused at start), accepts connections and hands each one to
// an HttpServer that serves it like a Unix-socket connection, minus the uid check. Apart from
// GET /health and /v1/health (open, for probes), GET /metrics when tcp.metrics_without_token is
// set (for scrapers) and the web app's static files, every request must carry
// `Authorization: Bearer <tcp.token>` (compared in constant time; otherwise 401 with
// WWW-Authenticate) and may only reach the routes OpenAI clients use, /metrics and the web pages'
// routes and POST /v1/jobs/{id}/worker (Slurm workers' frames) (tcp_access below; others: 404), or an annotator's token, which reaches the labeling
// routes only (http/web_access.h; others: 403). All is decided from the header alone, before any
// body byte is read, so a client without a token cannot make the daemon read (or wait for) a
// body. The listener has its own body cap (tcp.max_body_bytes) and connection cap
// (tcp.max_connections). Allowed requests go to the daemon's own handler, so answers are
// identical. With the config's `instance` set, every answer (refusals included) carries
// X-Workbench-Instance: <instance>, so a client behind a load balancer sees which replica answered.
#pragma once

#include <utility>  // before any Asio header (GCC 12 + C++20)

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "http/server.h"

namespace wb::daemon {

class TcpListener {
 public:
  // The listener's own caps (config [tcp]); `handler` is the daemon's dispatcher.
  struct Limits {
    std::uint64_t max_body_bytes = 4u << 20;
    std::size_t max_connections = 64;
    bool metrics_without_token = false;  // tcp.metrics_without_token: GET /metrics is Open
    // The annotator a bearer token belongs to (nullopt: none); such a token reaches only the
    // routes annotator_may() allows (http/web_access.h), others answer 403.
    std::function<std::optional<std::string>(const std::string& token)> annotator_of;
    std::string instance;                // config `instance`: sent as X-Workbench-Instance when set
  };
  // `base` supplies the header limit, deadlines, worker pool and observer.
  TcpListener(boost::asio::io_context& ioc, const HttpServer::Options& base, HttpServer::Handler handler,
              std::string host, std::uint16_t port, std::string token, Limits limits);
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  // Binds and listens; throws std::runtime_error naming the address on failure, when the host is
  // not an IP address, or when the token is empty.
  void listen();
  // The bound port (useful when the configured one was taken by the OS on our behalf).
  std::uint16_t port() const { return port_; }
  // As HttpServer's: stop accepting, then end every open connection.
  void stop_accepting();
  void close_all() { server_->close_all(); }

 private:
  void do_accept();
  // The gate (HttpServer::Options::gate): token, then route, from the header alone (refuse), plus
  // the instance header on a refusal.
  std::optional<Response> admit(const Request& head) const;
  std::optional<Response> refuse(const Request& head) const;
  // What an admitted request gets (answer: health without a token, OpenAI's model list, or the
  // daemon), plus the instance header.
  Response handle(Request& req) const;
  Response answer(Request& req) const;
  Response openai_models(const Request& req) const;

  boost::asio::io_context& ioc_;
  std::string host_;
  std::uint16_t port_;
  std::string token_;
  bool metrics_without_token_;
  std::function<std::optional<std::string>(const std::string&)> annotator_of_;
  std::string instance_;
  HttpServer::Handler inner_;
  std::unique_ptr<HttpServer> server_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_pause_;
};

// What the listener asks of a request, decided here alone and from the header: Open (no token;
// GET /health and /v1/health, answered {"status":"ok"} and nothing more, GET /metrics when
// `metrics_without_token`, and the web app's static files GET / and /ui/<file>), Token (the
// bearer token; the OpenAI routes, GET /v1/models and /v1/models/{id} in OpenAI's shape without
// local paths, GET /metrics, and the routes the web pages call: web_admin_route() in
// http/web_access.h) or NotServed (404 once the token is shown; the rest stays on the Unix
// socket). An annotator's token is checked apart: it reaches only annotator_may()'s routes.
enum class TcpAccess { Open, Token, NotServed };
TcpAccess tcp_access(const std::string& method, const std::string& path, bool metrics_without_token);

// True when `given` equals `expected`, in time that depends only on their lengths.
bool constant_time_equal(const std::string& given, const std::string& expected);

}  // namespace wb::daemon
