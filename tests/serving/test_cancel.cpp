// A client that goes away cancels its request: the plugin stops generating (its "done" says
// cancelled), for streamed and plain requests alike.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstring>
#include <thread>

#include "serving_fixture.h"

using namespace servingtest;

namespace {

// Connects to the daemon's socket, sends `bytes`, reads until `until` appears in the answer (or
// nothing when empty), then closes the connection.
void send_then_hang_up(const std::string& socket, const std::string& bytes, const std::string& until) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, socket.c_str(), sizeof a.sun_path - 1);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size()));
  std::string got;
  char buf[4096];
  while (!until.empty() && got.find(until) == std::string::npos) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  if (until.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ::close(fd);
}

std::string metric_line(ServingDaemon& d, const std::string& prefix) {
  auto m = wbtest::http(d.socket(), "GET", "/metrics").body;
  auto i = m.find("\n" + prefix);
  return i == std::string::npos ? "" : m.substr(i + 1, m.find('\n', i + 1) - i - 1);
}

}  // namespace

TEST_CASE("serving: a client that disconnects cancels its request") {
  ServingDaemon d("", /*slow=*/true);
  d.serve({{"max_batch", 2}});
  json req = {{"model", "tiny"}, {"prompt", "once upon a time"}, {"max_tokens", 2000}, {"temperature", 0.7},
              {"seed", 3}, {"ignore_eos", true}, {"stream", true}};
  // Streamed: hang up after the first chunk.
  send_then_hang_up(d.socket(), http_request("POST", "/v1/completions", req.dump()), "data: ");
  const std::string cancelled = "workbench_serving_requests_total{endpoint=\"completions\",finish_reason=\"cancelled\"}";
  CHECK(wbtest::eventually([&] { return metric_line(d, cancelled) == cancelled + " 1"; }, std::chrono::seconds(10)));
  CHECK(wbtest::eventually([&] { return d.stats()["running"] == 0; }, std::chrono::seconds(5)));

  // Plain: hang up while the daemon is still generating.
  req["stream"] = false;
  send_then_hang_up(d.socket(), http_request("POST", "/v1/completions", req.dump()), "");
  CHECK(wbtest::eventually([&] { return metric_line(d, cancelled) == cancelled + " 2"; }, std::chrono::seconds(10)));
  // Neither ran to its 2000 tokens.
  std::string tokens = metric_line(d, "workbench_serving_completion_tokens_total ");
  INFO(tokens);
  CHECK(std::stol(tokens.substr(tokens.rfind(' ') + 1)) < 2 * 2000);
  CHECK(metric_line(d, "workbench_serving_requests_total{endpoint=\"completions\",finish_reason=\"length\"}").empty());
}
