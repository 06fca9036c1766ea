// tcp_http.h — one blocking HTTP/1.1 request over TCP to 127.0.0.1 (Connection: close), for the
// web tests: the daemon's TCP listener and chromedriver's WebDriver endpoint.
//
//   auto r = wbtest::tcp_http(port, "GET", "/ui/label.html", "", {"Authorization: Bearer T"});
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "unix_http.h"  // wbtest::HttpResult

namespace wbtest {

HttpResult tcp_http(std::uint16_t port, const std::string& method, const std::string& target,
                    const std::string& body = "", const std::vector<std::string>& headers = {});

// A port on 127.0.0.1 that was free a moment ago.
std::uint16_t free_port();

}  // namespace wbtest
