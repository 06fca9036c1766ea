#include <utility>  // before any Asio header (GCC 12 + C++20)

#include "worker/http_transport.h"

#include <chrono>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace wb::worker {
namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using nlohmann::json;

void parse_daemon_url(const std::string& url, HttpEndpoint& into) {
  const std::string scheme = "http://";
  if (url.rfind(scheme, 0) != 0) throw std::invalid_argument("--daemon-url '" + url + "': expected http://HOST:PORT");
  std::string rest = url.substr(scheme.size());
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  const auto colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == rest.size())
    throw std::invalid_argument("--daemon-url '" + url + "': expected http://HOST:PORT");
  into.host = rest.substr(0, colon);
  if (into.host.size() > 2 && into.host.front() == '[' && into.host.back() == ']') into.host = into.host.substr(1, into.host.size() - 2);
  try {
    const int port = std::stoi(rest.substr(colon + 1));
    if (port < 1 || port > 65535) throw std::out_of_range("port");
    into.port = static_cast<std::uint16_t>(port);
  } catch (const std::exception&) {
    throw std::invalid_argument("--daemon-url '" + url + "': the port is not a number in 1..65535");
  }
}

namespace {

// One request on a fresh connection of `stream` (connected); throws beast/system errors.
template <class Stream>
http::response<http::string_body> exchange(Stream& stream, const HttpEndpoint& ep, const std::string& body) {
  std::string target = "/v1/jobs/" + std::to_string(ep.job) + "/worker?run=" + ep.run;
  if (ep.rank >= 0) target += "&rank=" + std::to_string(ep.rank);
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, ep.unix_socket.empty() ? ep.host : std::string("localhost"));
  if (!ep.token.empty()) req.set(http::field::authorization, "Bearer " + ep.token);
  req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(256u << 20);
  http::read(stream, buf, parser);
  beast::error_code ec;
  stream.socket().shutdown(net::socket_base::shutdown_both, ec);
  return parser.release();
}

http::response<http::string_body> post(const HttpEndpoint& ep, const std::string& body) {
  net::io_context ioc;
  if (!ep.unix_socket.empty()) {
    beast::basic_stream<net::local::stream_protocol> stream(ioc);
    stream.connect(net::local::stream_protocol::endpoint(ep.unix_socket));
    return exchange(stream, ep, body);
  }
  net::ip::tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  stream.connect(resolver.resolve(ep.host, std::to_string(ep.port)));
  return exchange(stream, ep, body);
}

}  // namespace

void HttpTransport::send(const json& message) {
  const std::string body = message.dump(-1, ' ', false, json::error_handler_t::replace);
  http::response<http::string_body> res;
  std::string last_error;
  // A few tries: a daemon briefly out of connections (tcp.max_connections) is not a dead one.
  for (int attempt = 0;; ++attempt) {
    try {
      res = post(ep_, body);
      if (res.result_int() != 503) break;
      last_error = "503 " + res.body();
    } catch (const std::exception& e) {
      last_error = e.what();
    }
    if (attempt == 4)
      throw ChannelError("cannot reach the daemon at " +
                         (ep_.unix_socket.empty() ? ep_.host + ":" + std::to_string(ep_.port) : ep_.unix_socket) + ": " +
                         last_error);
    std::this_thread::sleep_for(std::chrono::milliseconds(200 << attempt));
  }
  if (res.result_int() != 200)
    throw ChannelError("the daemon answered " + std::to_string(res.result_int()) + ": " + res.body());
  json r = json::parse(res.body(), nullptr, false);
  if (!r.is_object() || !r.contains("frames") || !r["frames"].is_array())
    throw ChannelError("the daemon's answer is not {\"frames\": [...]}: " + res.body().substr(0, 200));
  std::lock_guard<std::mutex> lk(mu_);
  for (json& f : r["frames"])
    if (f.is_object()) inbox_.push_back(std::move(f));
  cv_.notify_all();
}

std::optional<json> HttpTransport::receive() {
  std::unique_lock<std::mutex> lk(mu_);
  cv_.wait(lk, [&] { return !inbox_.empty() || closed_; });
  if (inbox_.empty()) return std::nullopt;
  json m = std::move(inbox_.front());
  inbox_.pop_front();
  return m;
}

void HttpTransport::close_read() {
  std::lock_guard<std::mutex> lk(mu_);
  closed_ = true;
  cv_.notify_all();
}

}  // namespace wb::worker
