#include "http/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <deque>
#include <future>
#include <limits>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "http/router.h"

namespace wb::daemon {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using local = net::local::stream_protocol;

Response error_response(int status, const std::string& code, const std::string& message) {
  Response r;
  r.status = status;
  nlohmann::json j = {{"error", {{"code", code}, {"message", message}}}};
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

// One connection: reads requests in a loop and writes responses (plain or chunked streams).
// All its handlers run on its strand, so its state needs no lock.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer& server, local::socket socket)
      : server_(server), registry_(server.registry()), socket_(std::move(socket)),
        // Capped so an endless chunk-size line, chunk extension or trailer ends in 413 rather than
        // growing without bound (Beast limits only the header itself).
        buffer_(server.options().max_header_bytes + (64u << 10)),
        timer_(socket_.get_executor()) {}

  ~Session() {
    if (stream_) stream_->stop();
    std::lock_guard<std::mutex> lk(registry_->mu);
    registry_->sessions.erase(this);
  }

  void start() {
    struct ucred cred {};
    socklen_t len = sizeof(cred);
    if (server_.options().check_peer_uid &&
        (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
         cred.uid != ::geteuid())) {
      forbidden_ = true;
    }
    do_read();
  }

  net::any_io_executor executor() { return socket_.get_executor(); }

  // Sends `bytes` if the socket takes them without waiting, then closes (connection cap).
  void reject(const std::string& bytes) {
    (void)::send(socket_.native_handle(), bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    beast::error_code ec;
    socket_.shutdown(local::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  // Called (posted) by HttpServer::close_all().
  void close() {
    net::post(socket_.get_executor(), [self = shared_from_this()] { self->shutdown(); });
  }

 private:
  void shutdown() {
    timer_.cancel();
    if (stream_) {
      stream_->stop();
      stream_.reset();
    }
    beast::error_code ec;
    socket_.shutdown(local::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  // Closes the connection when `d` passes before disarm() or the next arm().
  void arm(std::chrono::milliseconds d) {
    timer_.expires_after(d);
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->shutdown();
    });
  }
  void disarm() { timer_.cancel(); }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(server_.options().max_header_bytes);
    // Not boost::none: Beast 1.74 compares the length against an empty optional as "over".
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (served_ == 0 || buffer_.size() > 0) return read_header();
    // Kept alive between requests: wait for the next one's first byte, at most idle_timeout.
    arm(server_.options().idle_timeout);
    socket_.async_wait(local::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->shutdown();
      self->read_header();
    });
  }

  void read_header() {
    arm(server_.options().header_timeout);
    http::async_read_header(socket_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof) return shutdown();
    if (ec == http::error::header_limit)
      return send_error_and_close(431, "invalid_request", "request header too large (limit " +
                                  std::to_string(server_.options().max_header_bytes) + " bytes)");
    if (ec) {
      if (ec == net::error::operation_aborted || ec == net::error::bad_descriptor ||
          ec == net::error::connection_reset || ec == net::error::broken_pipe)
        return shutdown();
      return send_error_and_close(400, "invalid_request", "malformed HTTP request: " + ec.message());
    }
    if (forbidden_)
      return send_error_and_close(403, "forbidden", "this daemon serves only its own user (uid " +
                                  std::to_string(::geteuid()) + ")");
    auto& h = parser_->get();
    head_ = Request{};
    head_.method = std::string(h.method_string());
    head_.target = std::string(h.target());
    head_.path = head_.target.substr(0, head_.target.find('?'));
    for (auto& f : h) {
      std::string name(f.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      head_.headers[name] = std::string(f.value());
    }
    if (server_.options().gate) {
      std::optional<Response> refused;
      try {
        refused = server_.options().gate(head_);
      } catch (const std::exception& e) {
        refused = error_response(500, "internal", std::string("internal error: ") + e.what());
      }
      if (refused) {
        if (server_.options().observer) server_.options().observer("-", refused->status);
        keep_alive_ = false;
        return write_response(std::move(*refused), true);
      }
    }
    const std::string& method = head_.method;
    const std::string& path = head_.path;
    limit_ = server_.options().body_limit ? server_.options().body_limit(method, path) : (1u << 20);
    if (parser_->content_length() && *parser_->content_length() > limit_)
      return send_error_and_close(413, "payload_too_large", too_large_message());
    parser_->body_limit(limit_);
    auto expect = h[http::field::expect];
    if (beast::iequals(expect, "100-continue")) {
      // curl and others wait for this before sending a large body.
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      return net::async_write(socket_, net::buffer(kContinue),
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                if (ec) return self->shutdown();
                                self->read_body();
                              });
    }
    read_body();
  }

  void read_body() {
    if (parser_->is_done()) return on_body({});
    arm(server_.options().body_timeout);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
  }

  std::string too_large_message() const {
    return "request body exceeds the limit of " + std::to_string(limit_) + " bytes for this route";
  }

  void on_body(beast::error_code ec) {
    disarm();
    if (ec == http::error::body_limit)
      return send_error_and_close(413, "payload_too_large", too_large_message());
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
      return send_error_and_close(413, "payload_too_large", "a chunk header or the trailer exceeds " +
                                  std::to_string(server_.options().max_header_bytes) + " bytes");
    if (ec == http::error::bad_chunk || ec == http::error::bad_chunk_extension || ec == http::error::bad_field ||
        ec == http::error::bad_value || ec == http::error::bad_line_ending || ec == http::error::bad_transfer_encoding)
      return send_error_and_close(400, "invalid_request", "malformed request body: " + ec.message());
    if (ec) return shutdown();
    auto req = parser_->release();
    keep_alive_ = req.keep_alive();
    ++served_;

    Request r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) {
      std::string qs = r.target.substr(q + 1);
      std::size_t i = 0;
      while (i <= qs.size()) {
        std::size_t amp = qs.find('&', i);
        if (amp == std::string::npos) amp = qs.size();
        std::string kv = qs.substr(i, amp - i);
        if (!kv.empty()) {
          auto eq = kv.find('=');
          std::string k = url_decode(kv.substr(0, eq), true);
          std::string v = eq == std::string::npos ? "" : url_decode(kv.substr(eq + 1), true);
          r.query[k] = v;
        }
        i = amp + 1;
      }
    }
    for (auto& f : req) {
      std::string name(f.name_string());
      for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      r.headers[name] = std::string(f.value());
    }
    r.body = std::move(req.body());

    const auto& opts = server_.options();
    if (opts.offload && opts.workers && opts.offload(r)) {
      auto shared = std::make_shared<Request>(std::move(r));
      auto exec = socket_.get_executor();
      const bool queued = opts.workers->try_submit([self = shared_from_this(), shared, exec] {
        auto res = std::make_shared<Response>(self->call_handler(*shared));
        net::post(exec, [self, shared, res] { self->respond(*shared, std::move(*res)); });
      });
      if (queued) return;
      Response busy = error_response(503, "busy", "every worker is busy with long requests (imports, exports, "
                                                  "plugin methods); retry shortly");
      busy.headers.emplace_back("Retry-After", "1");
      if (opts.observer) opts.observer("-", 503);
      return write_response(std::move(busy), !keep_alive_);
    }
    respond(r, call_handler(r));
  }

  Response call_handler(Request& r) {
    try {
      return server_.handler()(r);
    } catch (const std::exception& e) {
      return error_response(500, "internal", std::string("internal error: ") + e.what());
    } catch (...) {
      return error_response(500, "internal", "internal error");
    }
  }

  void respond(const Request& r, Response res) {
    const std::string route = r.route.empty() ? "-" : r.route;
    if (res.stream && res.stream->buffered()) return start_buffered(std::move(res), route);
    if (server_.options().observer) server_.options().observer(route, res.status);
    if (res.stream) return start_stream(std::move(res));
    write_response(std::move(res), !keep_alive_);
  }

  void send_error_and_close(int status, const std::string& code, const std::string& message) {
    if (server_.options().observer) server_.options().observer("-", status);
    keep_alive_ = false;
    write_response(error_response(status, code, message), true);
  }

  void write_response(Response res, bool close_after) {
    auto msg = std::make_shared<http::response<http::string_body>>();
    msg->version(11);
    msg->result(static_cast<unsigned>(res.status));
    msg->set(http::field::server, "workbenchd");
    msg->set(http::field::content_type, res.content_type);
    for (auto& [k, v] : res.headers) msg->set(k, v);
    msg->keep_alive(!close_after);
    msg->body() = std::move(res.body);
    msg->prepare_payload();
    http::async_write(socket_, *msg,
                      [self = shared_from_this(), msg, close_after](beast::error_code ec, std::size_t) {
                        if (ec || close_after) return self->shutdown();
                        self->do_read();
                      });
  }

  // ---- buffered: one answer, sent as an ordinary response once the source has it ----
  void start_buffered(Response res, std::string route) {
    stream_ = res.stream;
    res.stream.reset();
    auto head = std::make_shared<Response>(std::move(res));  // content type and extra headers
    watch_peer();  // a client hanging up meanwhile stops the source (shutdown)
    auto exec = socket_.get_executor();
    stream_->start([self = shared_from_this(), exec, head, route](std::string chunk, bool last) {
      if (!last) return;  // the contract is one call; anything earlier is not the answer
      net::post(exec, [self, head, route, chunk = std::move(chunk)]() mutable {
        if (!self->stream_) return;  // the client went away
        head->status = self->stream_->final_status();
        head->body = std::move(chunk);
        self->stream_->stop();
        self->stream_.reset();
        if (self->server_.options().observer) self->server_.options().observer(route, head->status);
        self->write_response(std::move(*head), !self->keep_alive_);
      });
    });
  }

  // ---- chunked streaming ----
  void start_stream(Response res) {
    stream_ = res.stream;
    stream_head_.emplace();
    stream_head_->version(11);
    stream_head_->result(static_cast<unsigned>(res.status));
    stream_head_->set(http::field::server, "workbenchd");
    stream_head_->set(http::field::content_type, res.content_type);
    for (auto& [k, v] : res.headers) stream_head_->set(k, v);
    stream_head_->keep_alive(keep_alive_);
    stream_head_->chunked(true);
    serializer_.emplace(*stream_head_);
    writing_ = true;
    http::async_write_header(socket_, *serializer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->shutdown();
      if (!self->stream_) return;
      self->watch_peer();
      // The sink holds the session alive while the stream is subscribed; stop() (end of stream,
      // write error, client gone, server shutdown) drops it.
      auto exec = self->socket_.get_executor();
      self->stream_->start([self, exec](std::string chunk, bool last) {
        net::post(exec, [self, chunk = std::move(chunk), last]() mutable { self->enqueue(std::move(chunk), last); });
      });
    });
  }

  // Notices a client that hangs up while a stream is idle (readable + EOF), without consuming
  // any bytes a client might pipeline after the stream. A half-close (the client's shutdown
  // SHUT_WR after its request) also reads as EOF but is not a hang-up: the answer is still
  // wanted. On a Unix socket a peer that closed completely also shows POLLHUP; on TCP the two
  // look alike until a write fails, so there the answer is finished and the write decides.
  void watch_peer() {
    socket_.async_wait(local::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (ec || !self->stream_) return;
      char c;
      const int fd = self->socket_.native_handle();
      ssize_t n = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return self->watch_peer();
      if (n > 0) return;  // pipelined bytes: read after the stream
      if (n == 0) {
        struct pollfd p {fd, POLLIN | POLLRDHUP, 0};
        if (::poll(&p, 1, 0) == 1 && !(p.revents & (POLLHUP | POLLERR))) {
          self->keep_alive_ = false;  // half-closed: answer, then close
          return;
        }
      }
      self->shutdown();
    });
  }

  void enqueue(std::string chunk, bool last) {
    if (!stream_) return;
    pending_.push_back({std::move(chunk), last});
    if (!writing_) write_next();
  }

  void write_next() {
    if (pending_.empty()) return;
    writing_ = true;
    current_ = std::move(pending_.front());
    pending_.pop_front();
    auto done = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->writing_ = false;
      if (ec) return self->shutdown();
      if (self->current_.last) return self->finish_stream();
      self->write_next();
    };
    if (current_.last) {
      if (current_.data.empty()) {
        net::async_write(socket_, http::make_chunk_last(), done);
      } else {
        // Final data chunk followed by the terminating zero-length chunk.
        last_pair_.emplace(net::const_buffer(current_.data.data(), current_.data.size()));
        net::async_write(socket_, *last_pair_, [self = shared_from_this(), done](beast::error_code ec, std::size_t n) {
          if (ec) return done(ec, n);
          net::async_write(self->socket_, http::make_chunk_last(), done);
        });
      }
    } else {
      if (current_.data.empty()) return write_next_or_idle();
      last_pair_.emplace(net::const_buffer(current_.data.data(), current_.data.size()));
      net::async_write(socket_, *last_pair_, done);
    }
  }

  void write_next_or_idle() {
    writing_ = false;
    write_next();
  }

  void finish_stream() {
    if (stream_) stream_->stop();
    stream_.reset();
    serializer_.reset();
    stream_head_.reset();
    if (!keep_alive_) return shutdown();
    do_read();
  }

  struct Chunk {
    std::string data;
    bool last = false;
  };

  HttpServer& server_;  // used only while the io_context runs (the server outlives that)
  std::shared_ptr<HttpServer::Registry> registry_;
  local::socket socket_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::uint64_t limit_ = 0;
  bool keep_alive_ = true;
  std::uint64_t served_ = 0;  // requests read on this connection (0: waiting for the first)
  Request head_;              // the current request's header, for the gate
  net::steady_timer timer_;   // the header/body/idle deadline
  bool forbidden_ = false;

  std::shared_ptr<StreamSource> stream_;
  std::optional<http::response<http::empty_body>> stream_head_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;
  std::deque<Chunk> pending_;
  Chunk current_;
  std::optional<http::chunk_body<net::const_buffer>> last_pair_;
  bool writing_ = false;
};

HttpServer::HttpServer(net::io_context& ioc, Options opts, Handler handler)
    : ioc_(ioc),
      opts_(std::move(opts)),
      handler_(std::move(handler)),
      acceptor_(net::make_strand(ioc)),
      accept_pause_(acceptor_.get_executor()) {}

bool out_of_descriptors(const boost::system::error_code& ec) {
  return ec == net::error::no_descriptors || ec == boost::system::error_code(ENFILE, boost::system::system_category()) ||
         ec == net::error::no_buffer_space || ec == net::error::no_memory;
}

HttpServer::~HttpServer() {
  if (listening_.exchange(false)) close_acceptor();
}

void HttpServer::listen() {
  namespace fs = std::filesystem;
  fs::path dir = opts_.socket.parent_path();
  std::error_code fec;
  if (!dir.empty() && !fs::exists(dir, fec)) {
    fs::create_directories(dir, fec);
    if (fec) throw std::runtime_error("cannot create socket directory " + dir.string() + ": " + fec.message());
    ::chmod(dir.c_str(), 0700);
  }
  if (opts_.socket.native().size() >= sizeof(sockaddr_un{}.sun_path))
    throw std::runtime_error("socket path too long (" + std::to_string(opts_.socket.native().size()) +
                             " bytes, max " + std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + "): " +
                             opts_.socket.string());
  beast::error_code ec;
  local::endpoint ep(opts_.socket.string());
  acceptor_.open(ep.protocol(), ec);
  if (!ec) {
    // Bind with a restrictive umask so the socket is never briefly accessible to others.
    mode_t old = ::umask(0177);
    acceptor_.bind(ep, ec);
    ::umask(old);
  }
  if (!ec) ::chmod(opts_.socket.c_str(), 0600);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + opts_.socket.string() + ": " + ec.message());
  listening_ = true;
  do_accept();
}

void HttpServer::do_accept() {
  acceptor_.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, local::socket sock) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) adopt(std::move(sock));
    if (out_of_descriptors(ec)) {
      // Retrying at once would spin: the connection stays queued until a descriptor is free.
      accept_pause_.expires_after(kAcceptPause);
      return accept_pause_.async_wait([this](beast::error_code e) {
        if (!e && acceptor_.is_open()) do_accept();
      });
    }
    do_accept();
  });
}

void HttpServer::adopt(local::socket sock) {
  auto s = std::make_shared<Session>(*this, std::move(sock));
  {
    std::lock_guard<std::mutex> lk(registry_->mu);
    if (opts_.max_connections > 0 && registry_->sessions.size() >= opts_.max_connections) {
      // Over the cap: a short answer if the socket takes it at once, then close. Never blocks.
      static const std::string kBody = "{\"error\":{\"code\":\"busy\",\"message\":\"too many open connections; retry\"}}";
      static const std::string kBusy = "HTTP/1.1 503 Service Unavailable\r\nServer: workbenchd\r\nRetry-After: 1\r\n"
                                       "Content-Type: application/json\r\nConnection: close\r\nContent-Length: " +
                                       std::to_string(kBody.size()) + "\r\n\r\n" + kBody;
      s->reject(kBusy);
      return;
    }
    registry_->sessions[s.get()] = s;
  }
  net::post(s->executor(), [s] { s->start(); });
}

void HttpServer::close_acceptor() {
  accept_pause_.cancel();
  beast::error_code ec;
  acceptor_.cancel(ec);
  acceptor_.close(ec);
  std::error_code fec;
  std::filesystem::remove(opts_.socket, fec);
}

void HttpServer::stop_accepting() {
  if (!listening_.exchange(false)) return;
  if (ioc_.stopped()) return close_acceptor();
  // The acceptor lives on a strand shared with its accept handler; close it there.
  auto done = std::make_shared<std::promise<void>>();
  net::post(acceptor_.get_executor(), [this, done] {
    close_acceptor();
    done->set_value();
  });
  // All io threads busy (long imports): the destructor closes the acceptor once they are joined.
  if (done->get_future().wait_for(std::chrono::seconds(5)) != std::future_status::ready) listening_ = true;
}

void HttpServer::close_all() {
  std::map<Session*, std::weak_ptr<Session>> copy;
  {
    std::lock_guard<std::mutex> lk(registry_->mu);
    copy = registry_->sessions;
  }
  for (auto& [p, w] : copy)
    if (auto s = w.lock()) s->close();
}

}  // namespace wb::daemon
