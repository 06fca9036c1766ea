#include "http/tcp_listener.h"

#include <unistd.h>

#include <algorithm>
#include <future>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "http/web_access.h"

namespace wb::daemon {

namespace net = boost::asio;
using tcp = net::ip::tcp;

bool constant_time_equal(const std::string& given, const std::string& expected) {
  // Compare over the expected length so the time does not reveal how much of a guess matched.
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < expected.size(); ++i)
    diff |= static_cast<unsigned char>(expected[i] ^ (i < given.size() ? given[i] : 0));
  return diff == 0;
}

TcpListener::TcpListener(net::io_context& ioc, const HttpServer::Options& base, HttpServer::Handler handler,
                         std::string host, std::uint16_t port, std::string token, Limits limits)
    : ioc_(ioc),
      host_(std::move(host)),
      port_(port),
      token_(std::move(token)),
      metrics_without_token_(limits.metrics_without_token),
      annotator_of_(std::move(limits.annotator_of)),
      instance_(std::move(limits.instance)),
      inner_(std::move(handler)),
      acceptor_(net::make_strand(ioc)),
      accept_pause_(acceptor_.get_executor()) {
  HttpServer::Options o = base;
  o.socket.clear();
  o.check_peer_uid = false;  // a TCP peer has no uid; the bearer token authenticates it
  o.gate = [this](const Request& head) { return admit(head); };
  const std::uint64_t cap = limits.max_body_bytes;
  o.body_limit = [cap, inner = base.body_limit](const std::string& method, const std::string& path) {
    return std::min(cap, inner ? inner(method, path) : cap);
  };
  o.max_connections = limits.max_connections;
  server_ = std::make_unique<HttpServer>(ioc_, std::move(o), [this](Request& r) { return handle(r); });
}

TcpListener::~TcpListener() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

namespace {
bool is_health(const std::string& method, const std::string& path) {
  return method == "GET" && (path == "/health" || path == "/v1/health");
}
// POST /v1/jobs/<digits>/worker: frames of a worker Slurm started (slurm_launcher.h).
bool is_worker_frame(const std::string& method, const std::string& path) {
  const std::string head = "/v1/jobs/", tail = "/worker";
  if (method != "POST" || path.size() <= head.size() + tail.size() || path.rfind(head, 0) != 0 ||
      path.compare(path.size() - tail.size(), tail.size(), tail) != 0)
    return false;
  const std::string id = path.substr(head.size(), path.size() - head.size() - tail.size());
  return id.find_first_not_of("0123456789") == std::string::npos;
}
}  // namespace

TcpAccess tcp_access(const std::string& method, const std::string& path, bool metrics_without_token) {
  if (is_health(method, path)) return TcpAccess::Open;
  if (method == "GET" && path == "/metrics" && metrics_without_token) return TcpAccess::Open;
  if (is_web_static(method, path)) return TcpAccess::Open;
  if (web_admin_route(method, path)) return TcpAccess::Token;
  if ((method == "POST" && (path == "/v1/completions" || path == "/v1/chat/completions")) ||
      (method == "GET" && (path == "/v1/models" || path == "/metrics")) ||
      (method == "GET" && path.rfind("/v1/models/", 0) == 0 && path.size() > 11 && path.find('/', 11) == std::string::npos) ||
      is_worker_frame(method, path))
    return TcpAccess::Token;
  return TcpAccess::NotServed;
}

std::optional<Response> TcpListener::admit(const Request& req) const {
  std::optional<Response> refused = refuse(req);
  if (refused && !instance_.empty()) refused->headers.emplace_back("X-Workbench-Instance", instance_);
  return refused;
}

std::optional<Response> TcpListener::refuse(const Request& req) const {
  const TcpAccess access = tcp_access(req.method, req.path, metrics_without_token_);
  if (access == TcpAccess::Open) return std::nullopt;
  // The token before the route, so a client without it learns nothing of what is served.
  const std::optional<std::string> given = bearer_token(req);
  if (given && constant_time_equal(*given, token_)) {
    if (access != TcpAccess::Token)
      return error_response(404, "not_found",
                            "the TCP listener serves only POST /v1/completions, POST /v1/chat/completions, GET "
                            "/v1/models[/{id}], GET /metrics, GET /health and the web pages' routes (docs/WEB.md)");
    return std::nullopt;
  }
  // An annotator's token (compared by its hash in storage) may label, nothing else.
  if (given && annotator_of_ && annotator_of_(*given)) {
    if (!annotator_may(req.method, req.path))
      return error_response(403, "forbidden", annotator_forbidden_message(req.method, req.path));
    return std::nullopt;
  }
  Response r = error_response(401, "unauthorized",
                              "missing or wrong bearer token (Authorization: Bearer <tcp.token or an annotator's token>)");
  r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

Response TcpListener::handle(Request& req) const {
  Response r = answer(req);
  if (!instance_.empty()) r.headers.emplace_back("X-Workbench-Instance", instance_);
  return r;
}

Response TcpListener::answer(Request& req) const {
  // Probes and load balancers learn only that the daemon is up, without a token.
  if (is_health(req.method, req.path)) {
    Response ok;
    ok.body = "{\"status\":\"ok\"}";
    return ok;
  }
  if (req.path.rfind("/v1/models", 0) == 0) return openai_models(req);
  return inner_(req);
}

// /v1/models over TCP: OpenAI's list only (the registry beside it, with its local paths, stays on
// the Unix socket); /v1/models/{id} is one entry of that list (the SDK's models.retrieve).
Response TcpListener::openai_models(const Request& req) const {
  Request list = req;
  list.path = list.target = "/v1/models";
  list.query.clear();
  Response r = inner_(list);
  if (r.status != 200 || r.stream) return r;
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return r;
  body.erase("models");
  if (req.path == "/v1/models") {
    r.body = body.dump();
    return r;
  }
  const std::string id = req.path.substr(std::string("/v1/models/").size());
  for (const auto& e : body.value("data", nlohmann::json::array()))
    if (e.value("id", "") == id) {
      r.body = e.dump();
      return r;
    }
  return error_response(404, "model_not_found", "model '" + id + "' is neither the served model nor a loaded adapter");
}

void TcpListener::listen() {
  boost::system::error_code ec;
  auto addr = net::ip::make_address(host_, ec);
  if (ec) throw std::runtime_error("tcp.host '" + host_ + "' is not an IP address");
  // Any address may be bound, but never without the token (config.cpp refuses that first; this
  // keeps the rule where the socket is opened).
  if (token_.empty())
    throw std::runtime_error("tcp.token is empty; the TCP listener on tcp.host '" + host_ + "' needs a bearer token");
  if (!addr.is_loopback())
    spdlog::warn("tcp.host {} is reachable from other machines; the listener speaks plain HTTP, so put a TLS "
                 "proxy in front of it (docs/SECURITY.md)", host_);
  tcp::endpoint ep(addr, port_);
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + host_ + ":" + std::to_string(port_) + ": " + ec.message());
  port_ = acceptor_.local_endpoint().port();
  do_accept();
}

void TcpListener::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](boost::system::error_code ec, tcp::socket sock) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      boost::system::error_code ec2;
      sock.set_option(tcp::no_delay(true), ec2);  // streamed tokens leave at once
      // The server's sessions speak to any stream fd; hand the connection over as one.
      auto exec = sock.get_executor();
      int fd = sock.release(ec2);
      if (!ec2) {
        net::local::stream_protocol::socket s(exec);
        s.assign(net::local::stream_protocol(), fd, ec2);
        if (ec2) ::close(fd);
        else server_->adopt(std::move(s));
      }
    }
    if (out_of_descriptors(ec)) {
      // Retrying at once would spin: the connection stays queued until a descriptor is free.
      accept_pause_.expires_after(kAcceptPause);
      return accept_pause_.async_wait([this](boost::system::error_code e) {
        if (!e && acceptor_.is_open()) do_accept();
      });
    }
    do_accept();
  });
}

void TcpListener::stop_accepting() {
  auto done = std::make_shared<std::promise<void>>();
  net::post(acceptor_.get_executor(), [this, done] {
    boost::system::error_code ec;
    accept_pause_.cancel();
    acceptor_.cancel(ec);
    acceptor_.close(ec);
    done->set_value();
  });
  if (ioc_.stopped()) {
    boost::system::error_code ec;
    acceptor_.close(ec);
    return;
  }
  done->get_future().wait_for(std::chrono::seconds(5));
}

}  // namespace wb::daemon
