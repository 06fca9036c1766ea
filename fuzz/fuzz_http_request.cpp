// The daemon's HTTP request parsing: Beast's request parser configured as the daemon's sessions
// configure it (header limit 64 KiB, body limit 1 MiB, chunked bodies), then the request target
// split into path segments and query parameters as the router and server do.
#include <utility>

#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>

#include "http/router.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  http::request_parser<http::string_body> p;
  p.header_limit(64 << 10);
  p.body_limit(1 << 20);
  p.eager(true);
  boost::beast::error_code ec;
  std::size_t used = 0;
  while (used < size && !p.is_done()) {
    std::size_t n = p.put(boost::asio::const_buffer(data + used, size - used), ec);
    if (ec == http::error::need_more) break;
    if (ec || n == 0) return 0;
    used += n;
  }
  if (!p.is_header_done()) return 0;
  std::string target(p.get().target());
  std::string path = target.substr(0, target.find('?'));
  (void)wb::daemon::split_path(path);
  auto q = target.find('?');
  if (q != std::string::npos) (void)wb::daemon::url_decode(target.substr(q + 1), true);
  return 0;
}
