// server.h — HTTP/1.1 over a Unix domain socket (Boost.Beast on Asio).
//
// Owns the listening socket (created 0600; its directory is created 0700 when missing), accepts
// connections on the caller's io_context (run it from several threads), checks the peer's uid
// with SO_PEERCRED (another uid gets 403 `forbidden`), reads requests with header and body
// limits (413 `payload_too_large`), calls the handler and writes its Response with keep-alive.
// Streaming responses (Response::stream) are sent chunked.
//
// Rules every connection follows (SECURITY.md):
//   - the gate decides from the header alone (before one body byte is read) whether a request
//     goes on; a refused request is answered and the connection closed, its body never read;
//   - deadlines: the header must arrive within header_timeout, the body within body_timeout, and
//     a kept-alive connection with no next request is closed after idle_timeout;
//   - at most max_connections at once (more get 503 and are closed); when the process is out of
//     file descriptors the accept loop pauses instead of spinning;
//   - a malformed or oversized chunked body is answered 400/413, never just dropped;
//   - a client that half-closes (shutdown(SHUT_WR)) after its request still gets its answer;
//   - requests the offload rule picks run on the worker pool, not on an I/O thread (503 with
//     Retry-After when the pool is full).
//
// The handler must not throw (the daemon's dispatcher turns exceptions into error responses);
// anything that still escapes becomes 500 and the connection keeps serving.
#pragma once

#include <utility>  // before any Asio header (GCC 12 + C++20)

#include <atomic>
#include <chrono>
#include <optional>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <map>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http/message.h"
#include "http/worker_pool.h"

namespace wb::daemon {

class Session;

class HttpServer {
 public:
  using Handler = std::function<Response(Request&)>;
  // Body limit for a request, decided from its method and path once the header is read.
  using BodyLimit = std::function<std::uint64_t(const std::string& method, const std::string& path)>;
  // Observes every response the server writes (route pattern or "-" when unrouted, status).
  using Observer = std::function<void(const std::string& route, int status)>;
  // Called once a request's header is read, before any of its body: `head` has method, target,
  // path and headers (no body). nullopt lets the request go on; a Response is sent instead and
  // the connection closed without reading the body.
  using Gate = std::function<std::optional<Response>(const Request& head)>;
  // True for requests whose handler must run on the worker pool (the same head as the gate's).
  using Offload = std::function<bool(const Request& head)>;

  struct Options {
    std::filesystem::path socket;
    std::uint32_t max_header_bytes = 64 << 10;
    BodyLimit body_limit;
    Observer observer;
    // Refuse peers of another uid (SO_PEERCRED). Off for sockets adopt()ed from a TCP listener,
    // whose handler authenticates instead (tcp_listener.h).
    bool check_peer_uid = true;
    Gate gate;
    std::chrono::milliseconds header_timeout{30'000};
    std::chrono::milliseconds body_timeout{120'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::size_t max_connections = 512;  // 0 = no cap
    Offload offload;
    std::shared_ptr<WorkerPool> workers;  // needed when offload is set
  };

  HttpServer(boost::asio::io_context& ioc, Options opts, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens (the socket path must not exist: see instance_lock.h), sets mode 0600,
  // and starts accepting. Throws std::runtime_error with a clear message on failure.
  void listen();

  // Serves an already-connected stream socket (any stream fd: tcp_listener.h hands over TCP
  // connections this way) exactly like an accepted Unix connection. Thread-safe.
  void adopt(boost::asio::local::stream_protocol::socket socket);

  // Stops accepting new connections and removes the socket file. Idempotent. Call while the
  // io_context runs (the destructor handles the stopped case).
  void stop_accepting();

  // Ends every open connection (streams are stopped). Call after stop_accepting().
  void close_all();

  // Internal: live sessions, so close_all() can reach them. Shared with every session so a
  // session destroyed after the server (pending handlers freed with the io_context) is safe.
  struct Registry {
    std::mutex mu;
    std::map<Session*, std::weak_ptr<Session>> sessions;
  };
  const std::shared_ptr<Registry>& registry() const { return registry_; }
  const Options& options() const { return opts_; }
  const Handler& handler() const { return handler_; }

 private:
  void do_accept();
  void close_acceptor();

  boost::asio::io_context& ioc_;
  Options opts_;
  Handler handler_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::atomic<bool> listening_{false};
  std::shared_ptr<Registry> registry_ = std::make_shared<Registry>();
  boost::asio::steady_timer accept_pause_;
};

// The accept loops' answer to an accept error: true when the error means the process (or
// system) is out of file descriptors, in which case the caller waits `pause` before accepting
// again instead of retrying at once (which would spin: the pending connection stays pending).
bool out_of_descriptors(const boost::system::error_code& ec);
constexpr std::chrono::milliseconds kAcceptPause{100};

// {"error":{"code":..,"message":..}} with the given status.
Response error_response(int status, const std::string& code, const std::string& message);

}  // namespace wb::daemon
