// The optional TCP listener: any address, never without the bearer token (401 without it), only the
// OpenAI routes + /v1/models + /metrics; /health and /v1/health without it, answers identical to the Unix socket's.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

#include <fstream>

#include "serving_fixture.h"

using namespace servingtest;

namespace {

std::string tcp_config(std::uint16_t port, const std::string& host = "127.0.0.1") {
  return "[tcp]\nenabled = true\nhost = \"" + host + "\"\nport = " + std::to_string(port) + "\ntoken = \"s3cret-token\"\n";
}

}  // namespace

TEST_CASE("serving: TCP listener with and without the bearer token") {
  const std::uint16_t port = free_tcp_port();
  ServingDaemon d(tcp_config(port));
  d.serve();
  const std::string auth = "Authorization: Bearer s3cret-token";

  // Health answers probes without a token, saying only that the daemon is up.
  for (const char* path : {"/health", "/v1/health"}) {
    auto h = tcp_exchange(port, http_request("GET", path, ""));
    CHECK(h.status == 200);
    CHECK(h.body == "{\"status\":\"ok\"}");
  }
  auto r = tcp_exchange(port, http_request("GET", "/v1/models", ""));
  CHECK(r.status == 401);
  CHECK(r.headers["www-authenticate"] == "Bearer");
  CHECK(r.body.find("unauthorized") != std::string::npos);
  CHECK(tcp_exchange(port, http_request("GET", "/v1/models", "", {"Authorization: Bearer wrong"})).status == 401);
  CHECK(tcp_exchange(port, http_request("GET", "/v1/models", "", {"Authorization: Bearer s3cret-token-and-more"})).status == 401);
  CHECK(tcp_exchange(port, http_request("GET", "/v1/models", "", {"Authorization: s3cret-token"})).status == 401);
  CHECK(tcp_exchange(port, http_request("GET", "/metrics", "")).status == 401);
  r = tcp_exchange(port, http_request("GET", "/metrics", "", {auth}));
  CHECK(r.status == 200);
  CHECK(r.body.find("workbench_jobs") != std::string::npos);

  // Only the OpenAI routes and the web pages' (docs/WEB.md): the rest stays on the Unix socket.
  CHECK(tcp_exchange(port, http_request("POST", "/v1/jobs", "{}", {auth})).status == 404);
  CHECK(tcp_exchange(port, http_request("GET", "/v1/datasets", "", {auth})).status == 404);
  CHECK(tcp_exchange(port, http_request("POST", "/v1/serving", "{\"model\":\"tiny\"}", {auth})).status == 404);

  r = tcp_exchange(port, http_request("GET", "/v1/models", "", {auth}));
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body)["data"][0]["id"] == "tiny");
  // No local paths over TCP: OpenAI's list only, and one entry by id (models.retrieve).
  CHECK_FALSE(json::parse(r.body).contains("models"));
  CHECK(r.body.find(d.dir().string()) == std::string::npos);
  r = tcp_exchange(port, http_request("GET", "/v1/models/tiny", "", {auth}));
  REQUIRE(r.status == 200);
  CHECK(json::parse(r.body) == json({{"id", "tiny"}, {"object", "model"}, {"created", 0}, {"owned_by", "workbench"}}));
  r = tcp_exchange(port, http_request("GET", "/v1/models/nope", "", {auth}));
  CHECK(r.status == 404);
  CHECK(json::parse(r.body)["error"]["code"] == "model_not_found");

  // A streamed chat over TCP equals the plain answer over the Unix socket.
  json chat = {{"model", "tiny"}, {"messages", {{{"role", "user"}, {"content", "hello world"}}}}, {"max_tokens", 8},
               {"temperature", 0}};
  Reply plain = d.chat(chat);
  REQUIRE(plain.status == 200);
  chat["stream"] = true;
  r = tcp_exchange(port, http_request("POST", "/v1/chat/completions", chat.dump(), {auth}));
  REQUIRE(r.status == 200);
  CHECK(r.headers["content-type"] == "text/event-stream");
  Sse s = parse_sse(r.body);
  CHECK(s.done);
  CHECK(s.text() == plain.body["choices"][0]["message"]["content"].get<std::string>());
  CHECK(tcp_exchange(port, http_request("POST", "/v1/chat/completions", chat.dump())).status == 401);
}

TEST_CASE("serving: TCP metrics without the token only when the config says so") {
  const std::uint16_t port = free_tcp_port();
  ServingDaemon d(tcp_config(port) + "metrics_without_token = true\n");
  auto r = tcp_exchange(port, http_request("GET", "/metrics", ""));
  CHECK(r.status == 200);
  CHECK(r.body.find("workbench_jobs") != std::string::npos);
  // Only /metrics opens: the OpenAI routes still need the token.
  CHECK(tcp_exchange(port, http_request("GET", "/v1/models", "")).status == 401);
  CHECK(tcp_exchange(port, http_request("POST", "/metrics", "")).status == 401);
  CHECK(tcp_exchange(port, http_request("GET", "/metrics", "", {"Authorization: Bearer s3cret-token"})).status == 200);
}

namespace {

// An IPv4 address of this machine other than loopback ("" when it has none, e.g. a bare container).
std::string non_loopback_ipv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP)) continue;
    char buf[INET_ADDRSTRLEN] = {};
    if (::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, buf, sizeof buf)) found = buf;
  }
  ::freeifaddrs(list);
  return found;
}

}  // namespace

TEST_CASE("serving: the TCP listener binds every address with a token and names its instance") {
  const std::uint16_t port = free_tcp_port();
  ServingDaemon d("instance = \"r7\"\n" + tcp_config(port, "0.0.0.0"));
  d.serve();
  const std::string auth = "Authorization: Bearer s3cret-token";
  std::vector<std::string> hosts = {"127.0.0.1"};
  const std::string other = non_loopback_ipv4();
  if (!other.empty()) hosts.push_back(other);
  for (const auto& host : hosts) {
    INFO(host);
    auto h = tcp_exchange(port, http_request("GET", "/health", ""), host);
    CHECK(h.status == 200);
    CHECK(h.headers["x-workbench-instance"] == "r7");
    // The token is still required on every address, and its refusal names the instance too.
    auto r = tcp_exchange(port, http_request("GET", "/v1/models", ""), host);
    CHECK(r.status == 401);
    CHECK(r.headers["x-workbench-instance"] == "r7");
    r = tcp_exchange(port, http_request("GET", "/v1/models", "", {auth}), host);
    REQUIRE(r.status == 200);
    CHECK(json::parse(r.body)["data"][0]["id"] == "tiny");
    r = tcp_exchange(port, http_request("POST", "/v1/completions",
                                        json({{"model", "tiny"}, {"prompt", "hello"}, {"max_tokens", 2}}).dump(), {auth}),
                     host);
    CHECK(r.status == 200);
    CHECK(r.headers["x-workbench-instance"] == "r7");
  }
  CHECK(d.process.log_text().find("reachable from other machines") != std::string::npos);
}

TEST_CASE("serving: without a token the TCP listener refuses to start, naming the keys") {
  for (const char* host : {"0.0.0.0", "127.0.0.1"}) {
    INFO(host);
    wbtest::TempDir tmp("wb-serving-tcp");
    fs::path cfg = tmp.path() / "workbench.toml";
    std::ofstream(cfg) << "[tcp]\nenabled = true\nhost = \"" << host << "\"\nport = " << free_tcp_port() << "\n";
    wbtest::DaemonProcess p(tmp.path() / "data", tmp.path() / "run/wb.sock", {serving_plugin_dir()},
                            {"--config", cfg.string()});
    CHECK(p.run_expecting_exit() == 2);
    const std::string log = p.log_text();
    CHECK(log.find("tcp.token") != std::string::npos);
    CHECK(log.find("tcp.host = '" + std::string(host) + "'") != std::string::npos);
    CHECK(log.find("required (non-empty) when tcp.enabled is true") != std::string::npos);
  }
}

TEST_CASE("serving: the instance name must fit in a header") {
  wbtest::TempDir tmp("wb-serving-tcp");
  fs::path cfg = tmp.path() / "workbench.toml";
  std::ofstream(cfg) << "instance = \"r 1\\r\\nX-Evil: 1\"\n";
  wbtest::DaemonProcess p(tmp.path() / "data", tmp.path() / "run/wb.sock", {serving_plugin_dir()}, {"--config", cfg.string()});
  CHECK(p.run_expecting_exit() == 2);
  CHECK(p.log_text().find("key 'instance'") != std::string::npos);
}
