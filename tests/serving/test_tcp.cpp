// The optional TCP listener: loopback only, bearer token required (401 without it), only the
// OpenAI routes + /v1/models + /metrics; /health and /v1/health without it, answers identical to the Unix socket's.
#include <catch2/catch.hpp>

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

TEST_CASE("serving: the TCP listener refuses a non-loopback host") {
  wbtest::TempDir tmp("wb-serving-tcp");
  fs::path cfg = tmp.path() / "workbench.toml";
  std::ofstream(cfg) << tcp_config(free_tcp_port(), "0.0.0.0");
  wbtest::DaemonProcess p(tmp.path() / "data", tmp.path() / "run/wb.sock", {serving_plugin_dir()},
                          {"--config", cfg.string()});
  CHECK(p.run_expecting_exit() != 0);
  CHECK(p.log_text().find("not a loopback address") != std::string::npos);
}
