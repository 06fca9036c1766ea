// The worker channel's framing (daemon/src/worker/channel.h) over a real socketpair: messages
// arrive whole and in order from several sending threads, a clean close is the end, and a damaged
// stream (truncated frame, oversized length, text that is not a JSON object) is an error naming it.
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "worker/channel.h"

using nlohmann::json;
using wb::worker::Channel;
using wb::worker::ChannelError;

namespace {

struct Pair {
  int fd[2];
  Pair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) == 0); }
};

void write_raw(int fd, const std::string& bytes) {
  REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()));
}

std::string header(std::uint32_t n) {
  return {char(n >> 24), char((n >> 16) & 0xff), char((n >> 8) & 0xff), char(n & 0xff)};
}

}  // namespace

TEST_CASE("channel frames arrive whole and in order from concurrent senders, then the end", "[worker][channel]") {
  Pair p;
  Channel a(p.fd[0]);
  auto b = std::make_unique<Channel>(p.fd[1]);
  const std::string big(1 << 20, 'x');  // larger than a socket buffer: written in pieces
  std::vector<std::thread> senders;
  for (int t = 0; t < 4; ++t)
    senders.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) b->send({{"t", t}, {"i", i}, {"pad", i % 10 == 0 ? big : "é"}});
    });
  std::vector<int> next(4, 0);
  for (int n = 0; n < 200; ++n) {
    auto m = a.receive();
    REQUIRE(m);
    const int t = (*m)["t"], i = (*m)["i"];
    CHECK(i == next[t]++);  // each sender's messages in its order
    CHECK((*m)["pad"].get<std::string>().size() == (i % 10 == 0 ? big.size() : 2u));
  }
  for (auto& s : senders) s.join();
  b.reset();  // closes its end
  CHECK_FALSE(a.receive());
  // Sending to a closed peer is an error, not a SIGPIPE.
  CHECK_THROWS_AS(a.send({{"type", "heartbeat"}}), ChannelError);
}

TEST_CASE("a damaged channel stream is an error naming what is wrong", "[worker][channel]") {
  SECTION("truncated frame") {
    Pair p;
    Channel a(p.fd[0]);
    write_raw(p.fd[1], header(10) + "{\"a\":");
    ::close(p.fd[1]);
    CHECK_THROWS_WITH(a.receive(), Catch::Contains("stream ended inside a frame"));
  }
  SECTION("oversized length") {
    Pair p;
    Channel a(p.fd[0]);
    write_raw(p.fd[1], header(0xfffffff0u));
    ::close(p.fd[1]);
    CHECK_THROWS_WITH(a.receive(), Catch::Contains("exceeds the limit"));
  }
  SECTION("not a JSON object") {
    Pair p;
    Channel a(p.fd[0]);
    write_raw(p.fd[1], header(3) + "[1]");
    ::close(p.fd[1]);
    CHECK_THROWS_WITH(a.receive(), Catch::Contains("not a JSON object"));
  }
}
