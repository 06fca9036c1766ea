// web_fixture.h — the real workbenchd with its TCP listener on a free port (admin token
// kAdminToken), on a temp data dir and socket, loading the given plugin dirs; and requests to it
// with a bearer token over either listener.
#pragma once

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "daemon_process.h"
#include "tcp_http.h"
#include "unix_http.h"

namespace webtest {

inline const std::string kAdminToken = "admin-token-for-tests";

struct WebDaemon {
  wbtest::TempDir tmp{"wb-web"};
  std::uint16_t port = wbtest::free_port();
  wbtest::DaemonProcess daemon;

  explicit WebDaemon(std::vector<std::filesystem::path> plugin_dirs)
      : daemon(tmp.path() / "data", tmp.path() / "run/wb.sock", std::move(plugin_dirs),
               wbtest::config_args(tmp.path(), "[tcp]\nenabled = true\nhost = \"127.0.0.1\"\nport = " +
                                                   std::to_string(port) + "\ntoken = \"" + kAdminToken + "\"\n")) {
    daemon.start();
  }
  std::string socket() const { return daemon.socket().string(); }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port); }

  // Over TCP; `token` empty sends no Authorization header.
  wbtest::HttpResult tcp(const std::string& method, const std::string& target, const std::string& token,
                         const std::string& body = "") const {
    std::vector<std::string> headers;
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    return wbtest::tcp_http(port, method, target, body, headers);
  }
  // Over the Unix socket, with an optional bearer token.
  wbtest::HttpResult unix_socket(const std::string& method, const std::string& target, const std::string& token = "",
                                 const std::string& body = "") const {
    wbtest::UnixHttp c(socket());
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    if (!body.empty() || method == "POST")
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    return c.raw(req + "\r\n" + body);
  }
  // POST /v1/annotators over the Unix socket; the new annotator's token.
  std::string add_annotator(const std::string& name) const {
    auto r = unix_socket("POST", "/v1/annotators", "", nlohmann::json{{"name", name}}.dump());
    INFO(r.body);
    REQUIRE(r.status == 201);
    return nlohmann::json::parse(r.body).at("token").get<std::string>();
  }
};

}  // namespace webtest
