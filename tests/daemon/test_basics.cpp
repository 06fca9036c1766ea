// Integration: health/status, bad requests keep the daemon alive, plugin loading errors,
// single-instance rules, stale sockets.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>

#include <catch2/catch.hpp>

#include "../common/wb_skip.h"
#include "fixture.h"
#include "wb/wb_plugin.h"

using namespace wbtest;

TEST_CASE("health and status answer with the documented shapes", "[daemon]") {
  DaemonFixture d;
  Reply h = d.get("/v1/health");
  REQUIRE(h.status == 200);
  CHECK(h.body["status"] == "ok");
  CHECK(h.body["pid"] == d.process.pid());
  Reply s = d.get("/v1/status");
  REQUIRE(s.status == 200);
  for (auto k : {"version", "pid", "uptime_s", "data_dir", "socket", "device", "plugins", "models", "datasets",
                 "adapters", "jobs", "serving"})
    CHECK(s.body.contains(k));
  REQUIRE(s.body["plugins"].size() == 1);
  CHECK(s.body["plugins"][0]["name"] == "sleeper");
  CHECK(s.body["plugins"][0]["status"] == "loaded");
  CHECK(s.body["plugins"][0]["job_kinds"] == json::array({"sleep"}));
  CHECK(s.body["jobs"]["queued"] == 0);

  // The socket is 0600 inside a 0700 directory.
  struct stat st {};
  REQUIRE(::stat(d.socket().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  REQUIRE(::stat(d.process.socket().parent_path().c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  Reply m = to_reply(http(d.socket(), "GET", "/metrics"));
  CHECK(m.status == 200);
  CHECK_THAT(m.text, Catch::Contains("workbench_http_requests_total{route=\"/v1/status\",status=\"200\"} 1"));
  CHECK_THAT(m.text, Catch::Contains("workbench_jobs{state=\"queued\"} 0"));
}

TEST_CASE("malformed JSON, unknown fields and wrong types get 400 and the daemon stays up", "[daemon]") {
  DaemonFixture d;
  Reply r = d.post_raw("/v1/jobs", "{\"kind\": \"sleep\", \"spec\": {\"steps\": 1,}}");
  CHECK(r.status == 400);
  CHECK(r.body["error"]["code"] == "invalid_json");
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("byte offset"));

  r = d.post("/v1/jobs", {{"kind", "sleep"}, {"spec", {{"steps", 1}}}, {"colour", "red"}});
  CHECK(r.status == 400);
  CHECK(r.body["error"]["code"] == "invalid_request");
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("'colour'"));

  r = d.post("/v1/jobs", {{"kind", 7}});
  CHECK(r.status == 400);
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("field 'kind': expected a string"));

  r = d.post("/v1/jobs", {{"kind", "sleep"}, {"spec", {{"steps", "many"}}}});
  CHECK(r.status == 400);
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("spec.steps"));

  r = d.post("/v1/jobs", {{"kind", "sleep"}, {"spec", {{"steps", 1}, {"speed", 2}}}});
  CHECK(r.status == 400);
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("spec.speed"));

  r = d.post("/v1/datasets", {{"name", "x"}, {"kind", "sft"}, {"jsonl", 5}});
  CHECK(r.status == 400);
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("'jsonl'"));

  r = d.post_raw("/v1/datasets", "[1,2]");
  CHECK(r.status == 400);
  r = d.post_raw("/v1/comparisons", "\xff\xfe garbage");
  CHECK(r.status == 400);

  // Unknown route / method / id.
  CHECK(d.get("/v1/nothing").status == 404);
  CHECK(d.get("/v1/nothing").body["error"]["code"] == "not_found");
  CHECK(d.del("/v1/health").status == 405);
  CHECK(d.get("/v1/jobs/abc").status == 400);
  CHECK(d.get("/v1/jobs/999").status == 404);
  CHECK(d.get("/v1/jobs?state=sleeping").status == 400);

  // Not HTTP at all: answered 400 and the connection is closed; the daemon is fine.
  {
    UnixHttp c(d.socket());
    HttpResult g = c.raw("BLAH\r\n\r\n");
    CHECK(g.status == 400);
  }
  CHECK(d.get("/v1/health").status == 200);
}

TEST_CASE("oversized bodies get 413 and the daemon stays up", "[daemon]") {
  DaemonFixture d;
  std::string big(2u << 20, 'x');  // 2 MiB > 1 MiB for /v1/jobs
  Reply r = d.post_raw("/v1/jobs", "{\"kind\":\"" + big + "\"}");
  CHECK(r.status == 413);
  CHECK(r.body["error"]["code"] == "payload_too_large");
  // Header too large.
  {
    UnixHttp c(d.socket());
    HttpResult g = c.raw("GET /v1/health HTTP/1.1\r\nX-Big: " + std::string(100000, 'a') + "\r\n\r\n");
    CHECK(g.status == 431);
  }
  CHECK(d.get("/v1/health").status == 200);
  // The dataset route has the bigger limit: 2 MiB of JSONL is accepted there.
  std::string jsonl;
  while (jsonl.size() < (2u << 20)) jsonl += R"({"prompt":")" + std::string(1000, 'p') + R"(","completion":"c"})" "\n";
  r = d.post("/v1/datasets", {{"name", "big"}, {"kind", "sft"}, {"jsonl", jsonl}});
  CHECK(r.status == 201);
}

TEST_CASE("keep-alive serves many requests on one connection", "[daemon]") {
  DaemonFixture d;
  UnixHttp c(d.socket());
  for (int i = 0; i < 50; ++i) REQUIRE(c.request("GET", "/v1/health").status == 200);
  CHECK(c.connected());
}

TEST_CASE("bad_abi is refused and failing_init reported in status, their kinds are 422", "[daemon][plugins]") {
  DaemonFixture d({test_plugin_dir(), bad_plugin_dir()});
  Reply s = d.get("/v1/status");
  REQUIRE(s.status == 200);
  json bad, failing, sleeper;
  for (auto& p : s.body["plugins"]) {
    std::string path = p["path"];
    if (path.find("bad_abi") != std::string::npos) bad = p;
    if (path.find("failing_init") != std::string::npos) failing = p;
    if (p["name"] == "sleeper") sleeper = p;
  }
  REQUIRE(bad.is_object());
  CHECK(bad["status"] == "error");
  // bad_abi.cpp declares WB_PLUGIN_ABI_VERSION + 100: refused, both versions named.
  const std::string expected = "ABI version " + std::to_string(WB_PLUGIN_ABI_VERSION + 100) +
                               " is outside the daemon's supported range " + std::to_string(WB_PLUGIN_ABI_MIN_VERSION) +
                               ".." + std::to_string(WB_PLUGIN_ABI_VERSION) + "; the plugin is newer than this daemon";
  CHECK_THAT(bad["error"].get<std::string>(), Catch::Contains(expected));
  REQUIRE(failing.is_object());
  CHECK(failing["status"] == "error");
  CHECK_THAT(failing["error"].get<std::string>(), Catch::Contains("failing_init refuses to start"));
  CHECK(sleeper["status"] == "loaded");

  Reply r = d.post("/v1/jobs", {{"kind", "never"}, {"spec", json::object()}});
  CHECK(r.status == 422);
  CHECK(r.body["error"]["code"] == "unsupported_job_kind");
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("'never'"));
  CHECK(d.post("/v1/jobs", {{"kind", "bad_abi_kind"}}).status == 422);
  CHECK(d.post("/v1/jobs", {{"kind", "sleep"}, {"spec", {{"steps", 0}}}}).status == 201);
}

TEST_CASE("a second daemon on the same data dir or socket is refused with a clear message", "[daemon]") {
  DaemonFixture d;
  // Same data dir, different socket.
  DaemonProcess same_dir(d.process.data_dir(), d.tmp.path() / "run2/wb.sock", {test_plugin_dir()});
  CHECK(same_dir.run_expecting_exit() == 1);
  CHECK_THAT(same_dir.log_text(), Catch::Contains("already running with data dir"));
  // Same socket, different data dir.
  DaemonProcess same_sock(d.tmp.path() / "data2", d.process.socket(), {test_plugin_dir()});
  CHECK(same_sock.run_expecting_exit() == 1);
  CHECK_THAT(same_sock.log_text(), Catch::Contains("already listening on"));
  // The first one is untouched.
  CHECK(d.get("/v1/health").status == 200);
}

TEST_CASE("a stale socket left by a dead daemon is removed at start", "[daemon]") {
  DaemonFixture d({test_plugin_dir()}, /*start=*/false);
  std::filesystem::create_directories(d.process.socket().parent_path());
  // Bind a socket file and close it without unlinking: what a killed daemon leaves behind.
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, d.socket().c_str(), sizeof a.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  ::close(fd);
  REQUIRE(std::filesystem::exists(d.process.socket()));
  d.process.start();
  CHECK(d.get("/v1/health").status == 200);
  CHECK_THAT(d.process.log_text(), !Catch::Contains("error"));
  // SIGTERM removes the socket.
  CHECK(d.process.terminate() == 0);
  CHECK_FALSE(std::filesystem::exists(d.process.socket()));
}

TEST_CASE("a non-socket file at the socket path is never deleted", "[daemon]") {
  DaemonFixture d({test_plugin_dir()}, false);
  std::filesystem::create_directories(d.process.socket().parent_path());
  { std::ofstream(d.process.socket()) << "precious"; }
  CHECK(d.process.run_expecting_exit() == 1);
  CHECK_THAT(d.process.log_text(), Catch::Contains("is not a socket"));
  CHECK(std::filesystem::is_regular_file(d.process.socket()));
}

TEST_CASE("another uid is refused with 403 (SO_PEERCRED)", "[daemon][security]") {
  if (::geteuid() != 0) WB_SKIP("needs root to connect from another uid");
  DaemonFixture d;
  // Open the directory and socket modes so another uid can connect at all; the daemon's uid
  // check is then the only thing standing between it and the API.
  ::chmod(d.tmp.path().c_str(), 0755);
  ::chmod(d.process.socket().parent_path().c_str(), 0755);
  ::chmod(d.socket().c_str(), 0666);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    try {
      UnixHttp c(d.socket());
      HttpResult r = c.request("GET", "/v1/status");
      json body = json::parse(r.body, nullptr, false);
      ::_exit(r.status == 403 && body["error"]["code"] == "forbidden" ? 0 : 1);
    } catch (...) {
      ::_exit(2);
    }
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  REQUIRE(WIFEXITED(st));
  CHECK(WEXITSTATUS(st) == 0);
  CHECK(d.get("/v1/status").status == 200);  // the owner still gets in
}

TEST_CASE("a config file with an unknown key stops the daemon naming the key", "[daemon][config]") {
  TempDir tmp;
  auto cfg = tmp.path() / "workbench.toml";
  { std::ofstream(cfg) << "data_dir = \"data\"\n[limits]\nmax_body = 5\n"; }
  DaemonProcess p(tmp.path() / "data", tmp.path() / "s.sock", {}, {"--config", cfg.string()});
  CHECK(p.run_expecting_exit() == 2);
  CHECK_THAT(p.log_text(), Catch::Contains("unknown key 'limits.max_body'"));
  CHECK_FALSE(std::filesystem::exists(tmp.path() / "s.sock"));
}

TEST_CASE("a socket path too long for sun_path is a clear start-up error", "[daemon]") {
  TempDir tmp;
  std::filesystem::path sock = tmp.path() / (std::string(120, 's') + ".sock");
  DaemonProcess p(tmp.path() / "data", sock, {});
  CHECK(p.run_expecting_exit() == 1);
  CHECK_THAT(p.log_text(), Catch::Contains("socket path too long"));
}

TEST_CASE("a body nested 200000 deep or with a number beyond double is a 400, and the daemon stays up", "[daemon][json]") {
  DaemonFixture d;
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  for (const char* route : {"/v1/jobs", "/v1/datasets", "/v1/comparisons", "/v1/chat/completions"}) {
    Reply r = d.post_raw(route, deep);
    INFO(route);
    CHECK(r.status == 400);
    CHECK(r.body["error"]["code"] == "invalid_json");
    CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("nested deeper than 128 levels"));
  }
  // A dataset line nested 300000 deep inside the (shallow) body's JSONL string.
  const std::string line = R"({"prompt":)" + std::string(300000, '[') + std::string(300000, ']') + R"(,"completion":"a"})";
  Reply ds = d.post("/v1/datasets", {{"name", "deep"}, {"kind", "sft"}, {"jsonl", line + "\n"}});
  CHECK(ds.status == 400);
  CHECK(ds.body["error"]["code"] == "invalid_dataset");
  CHECK_THAT(ds.body["error"]["message"].get<std::string>(), Catch::StartsWith("line 1: JSON nested deeper than 128 levels"));
  Reply big = d.post_raw("/v1/jobs", R"({"kind":"sleep","spec":{"steps":1e400}})");
  CHECK(big.status == 400);
  CHECK_THAT(big.body["error"]["message"].get<std::string>(), Catch::Contains("field 'spec.steps': number out of range: 1e400"));
  CHECK(d.get("/v1/health").status == 200);
}

TEST_CASE("1e400 in any JSON number answers 400 naming the field", "[daemon][hardening]") {
  DaemonFixture d;
  auto check = [&](const std::string& target, const std::string& body, const std::string& needle) {
    Reply r = d.post_raw(target, body);
    INFO(target << " " << body << " -> " << r.text);
    CHECK(r.status == 400);
    CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains(needle));
  };
  check("/v1/jobs", R"({"kind":"sleep","priority":1e400,"spec":{"steps":1}})", "field 'priority': number out of range: 1e400");
  check("/v1/chat/completions", R"({"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":-1e400})",
        "field 'temperature': number out of range: -1e400");
  check("/v1/completions", R"({"model":"m","prompt":"hi","top_p":1E999})", "field 'top_p'");
  check("/v1/comparisons", R"({"dataset":"x","rating":1e400})", "field 'rating'");
  // A dataset line inside the body's JSONL string: the line and the field.
  Reply ds = d.post("/v1/datasets", {{"name", "n"}, {"kind", "preference"},
                                     {"jsonl", "{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\"}\n"
                                               "{\"prompt\":\"p\",\"chosen\":\"a\",\"rejected\":\"b\",\"rating\":1e400}\n"}});
  INFO(ds.text);
  CHECK(ds.status == 400);
  CHECK_THAT(ds.body["error"]["message"].get<std::string>(),
             Catch::Contains("line 2: field 'rating': number overflow parsing '1e400'"));
  CHECK(d.get("/v1/health").status == 200);
}
