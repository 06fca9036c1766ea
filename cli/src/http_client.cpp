// HTTP/1.1 over a Unix socket with Boost.Beast: one connection per request, synchronous.
#include <utility>  // before Asio under GCC 12 / C++20

#include "wb/cli/http_client.h"

#include <cstdint>
#include <limits>

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "wb/cli/errors.h"

namespace wb::cli {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Local = asio::local::stream_protocol;

#ifndef WB_VERSION
#define WB_VERSION "0"
#endif

http::verb to_verb(std::string_view method) {
  http::verb v = http::string_to_verb(boost::beast::string_view(method.data(), method.size()));
  if (v == http::verb::unknown) throw Error("unknown HTTP method " + std::string(method));
  return v;
}

// An open connection to the daemon. Connect failures become ConnectError.
struct Connection {
  asio::io_context io;
  Local::socket sock{io};

  explicit Connection(const std::string& path) {
    boost::system::error_code ec;
    sock.connect(Local::endpoint(path), ec);
    if (ec) throw ConnectError(path, ec.message());
  }

  void send(http::verb verb, std::string_view target, const std::optional<std::string>& body) {
    http::request<http::string_body> req{verb, boost::beast::string_view(target.data(), target.size()), 11};
    req.set(http::field::host, "workbenchd");
    req.set(http::field::user_agent, "wb/" WB_VERSION);
    req.set(http::field::connection, "close");
    if (body) {
      req.set(http::field::content_type, "application/json");
      req.body() = *body;
    }
    req.prepare_payload();
    boost::system::error_code ec;
    http::write(sock, req, ec);
    if (ec) throw Error("sending request to workbenchd failed: " + ec.message());
  }
};

// Beast 1.74 compares a Content-Length against an empty optional as "over the limit", so
// body_limit(boost::none) rejects every sized body; the largest value means "no limit".
constexpr std::uint64_t kNoBodyLimit = std::numeric_limits<std::uint64_t>::max();

std::string lost(const boost::system::error_code& ec) {
  if (ec == http::error::partial_message || ec == http::error::end_of_stream ||
      ec == asio::error::eof || ec == asio::error::connection_reset)
    return "workbenchd closed the connection before its response was complete (did it stop?)";
  return "connection to workbenchd lost while reading the response: " + ec.message();
}

}  // namespace

HttpClient::HttpClient(std::string socket_path) : socket_path_(std::move(socket_path)) {}

HttpResponse HttpClient::request(std::string_view method, std::string_view target,
                                 const std::optional<std::string>& json_body) const {
  Connection c(socket_path_);
  c.send(to_verb(method), target, json_body);
  boost::beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kNoBodyLimit);  // exports can be large; the daemon bounds them
  boost::system::error_code ec;
  http::read(c.sock, buf, parser, ec);
  if (ec) throw Error(lost(ec));
  auto& res = parser.get();
  HttpResponse out;
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  return out;
}

int HttpClient::stream(std::string_view target,
                       const std::function<bool(std::string_view)>& on_data,
                       std::string& error_body) const {
  return stream("GET", target, std::nullopt, on_data, error_body);
}

int HttpClient::stream(std::string_view method, std::string_view target, const std::optional<std::string>& json_body,
                       const std::function<bool(std::string_view)>& on_data, std::string& error_body) const {
  Connection c(socket_path_);
  c.send(to_verb(method), target, json_body);
  boost::beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(kNoBodyLimit);
  boost::system::error_code ec;
  http::read_header(c.sock, buf, parser, ec);
  if (ec) throw Error(lost(ec));
  const int status = parser.get().result_int();
  char chunk[16384];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    // read_some, not read: read() would wait until the 16 KiB buffer fills, holding back
    // the events of a live stream.
    http::read_some(c.sock, buf, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) throw Error(lost(ec));
    const std::size_t n = sizeof chunk - parser.get().body().size;
    if (n == 0) continue;
    if (status >= 400) {
      error_body.append(chunk, n);
    } else if (!on_data(std::string_view(chunk, n))) {
      break;
    }
  }
  return status;
}

}  // namespace wb::cli
