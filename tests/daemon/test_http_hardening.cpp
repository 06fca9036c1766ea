// The rules every connection follows, against the real daemon: the TCP token is checked before
// any body is read; body and connection caps per listener; header, body and idle deadlines; an
// accept loop that pauses (not spins) when the process is out of file descriptors; long request
// work on the worker pool, so /v1/health keeps answering during a large import.
#include <utility>

#include <sys/resource.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "fixture.h"
#include "raw_socket.h"

using namespace wbtest;
using namespace std::chrono_literals;

namespace {

std::uint16_t free_port() {
  RawSocket s(::socket(AF_INET, SOCK_STREAM, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s.fd(), reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(s.fd(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

std::string tcp_table(std::uint16_t port, const std::string& extra = "") {
  return "[tcp]\nenabled = true\nport = " + std::to_string(port) + "\ntoken = \"tok\"\n" + extra;
}

// utime + stime of a process, in clock ticks (/proc/<pid>/stat fields 14 and 15).
long cpu_ticks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::istringstream in(s.substr(s.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) ++n;
  return n;
}

}  // namespace

TEST_CASE("TCP: a request without the token is refused from its header, its body never awaited", "[http]") {
  const auto port = free_port();
  DaemonFixture d({test_plugin_dir()}, true, tcp_table(port));
  // Announces 200 MB and sends none of it: the 401 must come at once, not after a body.
  RawSocket c = RawSocket::tcp(port);
  REQUIRE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 200000000\r\n\r\n"));
  bool closed = false;
  std::string got = c.read_all(5s, &closed);
  CHECK(status_of(got) == 401);
  CHECK_THAT(got, Catch::Contains("WWW-Authenticate: Bearer"));
  CHECK(closed);
  // A wrong token, and a route the listener does not serve, likewise.
  RawSocket w = RawSocket::tcp(port);
  REQUIRE(w.send("POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer nope\r\nContent-Length: 9999999\r\n\r\n"));
  CHECK(status_of(w.read_all(5s)) == 401);
  RawSocket r = RawSocket::tcp(port);
  REQUIRE(r.send("POST /v1/datasets HTTP/1.1\r\nAuthorization: Bearer tok\r\nContent-Length: 9999999\r\n\r\n"));
  CHECK(status_of(r.read_all(5s)) == 404);
}

TEST_CASE("TCP: tcp.max_body_bytes and tcp.max_connections cap the listener", "[http]") {
  const auto port = free_port();
  DaemonFixture d({test_plugin_dir()}, true, tcp_table(port, "max_body_bytes = 2048\nmax_connections = 3\n"));
  RawSocket big = RawSocket::tcp(port);
  REQUIRE(big.send("POST /v1/chat/completions HTTP/1.1\r\nAuthorization: Bearer tok\r\nContent-Length: 4096\r\n\r\n"));
  std::string got = big.read_all(5s);
  CHECK(status_of(got) == 413);
  CHECK_THAT(got, Catch::Contains("2048"));

  std::vector<RawSocket> held;
  for (int i = 0; i < 3; ++i) held.push_back(RawSocket::tcp(port));
  // The three are open (each answers); a fourth is refused with 503 and closed.
  REQUIRE(held[0].send("GET /v1/health HTTP/1.1\r\nAuthorization: Bearer tok\r\n\r\n"));
  CHECK(status_of(held[0].read_all(5s, nullptr, 12)) == 200);
  RawSocket extra = RawSocket::tcp(port);
  bool closed = false;
  got = extra.read_all(5s, &closed);
  CHECK(status_of(got) == 503);
  CHECK(closed);
  // The Unix socket is a listener of its own: unaffected.
  CHECK(d.get("/v1/health").status == 200);
  held.clear();
  CHECK(eventually([&] {
    RawSocket again = RawSocket::tcp(port);
    again.send("GET /v1/health HTTP/1.1\r\nAuthorization: Bearer tok\r\n\r\n");
    return status_of(again.read_all(2s, nullptr, 12)) == 200;
  }, 5s));
}

TEST_CASE("deadlines: a slow header, a slow body and an idle kept-alive connection are closed", "[http]") {
  DaemonFixture d({test_plugin_dir()}, true, "[limits]\nheader_timeout_s = 1\nbody_timeout_s = 1\nidle_timeout_s = 1\n");
  auto closed_within = [](RawSocket& s, std::chrono::milliseconds t) {
    bool closed = false;
    s.read_all(t, &closed);
    return closed;
  };
  RawSocket header = RawSocket::unix_socket(d.socket());
  REQUIRE(header.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n"));  // never finished
  RawSocket body = RawSocket::unix_socket(d.socket());
  REQUIRE(body.send("POST /v1/comparisons HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"prompt\""));
  RawSocket idle = RawSocket::unix_socket(d.socket());
  REQUIRE(idle.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(status_of(idle.read_all(5s, nullptr, 12)) == 200);
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(closed_within(header, 8s));
  CHECK(closed_within(body, 8s));
  CHECK(closed_within(idle, 8s));
  CHECK(std::chrono::steady_clock::now() - t0 < 8s);
  CHECK(d.get("/v1/health").status == 200);
}

TEST_CASE("out of file descriptors: the accept loop pauses instead of spinning, and the daemon recovers", "[http]") {
  const auto port = free_port();
  DaemonFixture d({test_plugin_dir()}, true, tcp_table(port));
  const pid_t pid = d.process.pid();
  // A kept-alive Unix connection opened beforehand keeps working while no new one can be accepted.
  RawSocket kept = RawSocket::unix_socket(d.socket());
  REQUIRE(kept.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(status_of(kept.read_all(5s, nullptr, 12)) == 200);
  kept.read_all(200ms);  // the rest of the answer

  const rlim_t limit = open_fds(pid) + 16;
  struct rlimit rl {limit, limit};
  REQUIRE(::prlimit(pid, RLIMIT_NOFILE, &rl, nullptr) == 0);
  std::vector<RawSocket> clients;
  for (int i = 0; i < 40; ++i) clients.push_back(RawSocket::tcp(port));  // the kernel queues the rest
  REQUIRE(eventually([&] { return open_fds(pid) >= limit - 1; }, 10s));
  std::this_thread::sleep_for(300ms);

  const long ticks_per_s = ::sysconf(_SC_CLK_TCK);
  const long before = cpu_ticks(pid);
  std::this_thread::sleep_for(2s);
  const double cpu_s = double(cpu_ticks(pid) - before) / double(ticks_per_s);
  INFO("daemon CPU over 2 s while out of descriptors: " << cpu_s << " s");
  CHECK(cpu_s < 0.5);  // a spinning accept loop burns ~2 s here

  REQUIRE(kept.send("GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(status_of(kept.read_all(5s, nullptr, 12)) == 200);

  clients.clear();  // descriptors come back; new connections are accepted again
  CHECK(eventually([&] { return http(d.socket(), "GET", "/v1/health").status == 200; }, 5s));
}

TEST_CASE("a large import runs on the worker pool: /v1/health answers meanwhile", "[http]") {
  DaemonFixture d({test_plugin_dir()}, true, "http_threads = 1\n");
  std::string jsonl;
  for (int i = 0; i < 300000; ++i)
    jsonl += "{\"prompt\":\"question number " + std::to_string(i) + " about something\",\"completion\":\"an answer "
             "that is long enough to matter " + std::to_string(i) + "\"}\n";
  std::atomic<bool> done{false};
  Reply imported;
  std::thread importer([&] {
    imported = d.post("/v1/datasets", {{"name", "big"}, {"kind", "sft"}, {"jsonl", jsonl}});
    done = true;
  });
  std::chrono::milliseconds worst{0};
  int polls = 0;
  UnixHttp c(d.socket());
  std::this_thread::sleep_for(100ms);
  while (!done) {
    auto t0 = std::chrono::steady_clock::now();
    HttpResult h = c.request("GET", "/v1/health");
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
    CHECK(h.status == 200);
    worst = std::max(worst, took);
    ++polls;
    std::this_thread::sleep_for(20ms);
  }
  importer.join();
  REQUIRE(imported.status == 201);
  INFO("polls during the import: " << polls << ", slowest health answer " << worst.count() << " ms");
  CHECK(worst < 500ms);  // generous: it was the whole import (seconds) on the one I/O thread
}

TEST_CASE("a full worker pool answers 503 with Retry-After", "[http]") {
  DaemonFixture d({test_plugin_dir()}, true, "[limits]\nworker_threads = 1\nworker_queue = 0\n");
  std::string jsonl;
  for (int i = 0; i < 150000; ++i) jsonl += "{\"prompt\":\"p" + std::to_string(i) + "\",\"completion\":\"c\"}\n";
  // The import holds the one worker while the loop below asks for an export. Which request reaches
  // the pool first is a race: when an export gets there first, the import is the one answered 503
  // (and tried again here) — a full pool answering 503 either way.
  std::atomic<bool> done{false}, import_busy{false};
  std::thread importer([&] {
    for (;;) {
      const auto r = d.post("/v1/datasets", {{"name", "first"}, {"kind", "sft"}, {"jsonl", jsonl}});
      if (r.status != 503) break;
      import_busy = true;
    }
    done = true;
  });
  bool saw_busy = false;
  while (!done && !saw_busy) {
    HttpResult r = http(d.socket(), "GET", "/v1/datasets/first/export");
    if (r.status == 503) {
      saw_busy = true;
      CHECK(r.headers["retry-after"] == "1");
      CHECK_THAT(r.body, Catch::Contains("busy"));
    }
  }
  importer.join();
  CHECK((saw_busy || import_busy));
  // The worker is free again once it has handed its answer over (a moment after the client has it).
  CHECK(eventually([&] { return http(d.socket(), "GET", "/v1/datasets/first/export").status == 200; }, 5s));
}
