// HttpServer in-process: a throwing handler gives 500 and the server keeps serving; body limits;
// chunked streams; a client hanging up mid-stream stops its source; buffered answers carry their
// own status.
#include <utility>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "daemon_process.h"
#include "http/server.h"
#include "raw_socket.h"
#include "unix_http.h"

using namespace wb::daemon;
using namespace wbtest;

namespace {

// A source that emits `n` numbered lines on its own thread, then ends; records stop().
class CountingSource : public StreamSource {
 public:
  explicit CountingSource(int n, int delay_ms) : n_(n), delay_ms_(delay_ms) {}
  ~CountingSource() override {
    stop();
    if (t_.joinable()) t_.join();
  }
  void start(Sink sink) override {
    t_ = std::thread([this, sink] {
      for (int i = 0; i < n_ && !stopped_; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
        if (!stopped_) sink("line " + std::to_string(i) + "\n", i == n_ - 1);
      }
    });
  }
  void stop() override { stopped_ = true; }
  std::atomic<bool> stopped_{false};

 private:
  int n_, delay_ms_;
  std::thread t_;
};

// A buffered source: answers once, after `delay_ms`, with `status`; records stop().
class OneAnswerSource : public StreamSource {
 public:
  OneAnswerSource(int status, int delay_ms) : status_(status), delay_ms_(delay_ms) {}
  ~OneAnswerSource() override {
    stop();
    if (t_.joinable()) t_.join();
  }
  bool buffered() const override { return true; }
  int final_status() const override { return status_; }
  void start(Sink sink) override {
    t_ = std::thread([this, sink] {
      for (int waited = 0; waited < delay_ms_ && !stopped_; ++waited)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (!stopped_) sink("{\"status\":" + std::to_string(status_) + "}", true);
    });
  }
  void stop() override { stopped_ = true; }
  std::atomic<bool> stopped_{false};

 private:
  int status_, delay_ms_;
  std::thread t_;
};

struct Server {
  TempDir tmp;
  boost::asio::io_context ioc;
  std::unique_ptr<HttpServer> server;
  std::vector<std::thread> threads;
  std::shared_ptr<CountingSource> last_source;
  std::shared_ptr<OneAnswerSource> last_answer;

  Server() {
    HttpServer::Options o;
    o.socket = tmp.path() / "s.sock";
    o.body_limit = [](const std::string&, const std::string& path) -> std::uint64_t {
      return path == "/big" ? 1 << 20 : 1024;
    };
    server = std::make_unique<HttpServer>(ioc, o, [this](Request& r) -> Response {
      if (r.path == "/throw") throw std::runtime_error("handler bug");
      if (r.path == "/throw-int") throw 42;
      if (r.path == "/answer") {
        Response res;
        res.headers.emplace_back("X-Extra", "kept");
        last_answer = std::make_shared<OneAnswerSource>(std::stoi(r.query_or("status", "200")),
                                                        std::stoi(r.query_or("ms", "1")));
        res.stream = last_answer;
        return res;
      }
      if (r.path == "/stream") {
        Response res;
        res.content_type = "application/x-ndjson";
        last_source = std::make_shared<CountingSource>(std::stoi(r.query_or("n", "5")), std::stoi(r.query_or("ms", "1")));
        res.stream = last_source;
        return res;
      }
      Response res;
      res.body = "{\"path\":\"" + r.path + "\",\"bytes\":" + std::to_string(r.body.size()) + ",\"q\":\"" + r.query_or("q", "") + "\"}";
      return res;
    });
    server->listen();
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { ioc.run(); });
  }
  ~Server() {
    server->stop_accepting();
    server->close_all();
    ioc.stop();
    for (auto& t : threads) t.join();
  }
  std::string socket() const { return (tmp.path() / "s.sock").string(); }
};

}  // namespace

TEST_CASE("a throwing handler gives 500 and the connection keeps serving", "[http]") {
  Server s;
  UnixHttp c(s.socket());
  HttpResult r = c.request("GET", "/throw");
  CHECK(r.status == 500);
  CHECK_THAT(r.body, Catch::Contains("\"code\":\"internal\"") && Catch::Contains("handler bug"));
  CHECK(c.request("GET", "/throw-int").status == 500);
  HttpResult ok = c.request("GET", "/hello?q=a%20b");
  CHECK(ok.status == 200);
  CHECK(ok.body == "{\"path\":\"/hello\",\"bytes\":0,\"q\":\"a b\"}");
  CHECK(c.connected());
}

TEST_CASE("per-route body limits: 413 over, accepted under, chunked bodies too", "[http]") {
  Server s;
  CHECK(http(s.socket(), "POST", "/small", std::string(1025, 'x')).status == 413);
  CHECK(http(s.socket(), "POST", "/small", std::string(1024, 'x')).status == 200);
  CHECK(http(s.socket(), "POST", "/big", std::string(100000, 'x')).status == 200);
  UnixHttp c(s.socket());
  std::string chunked = "POST /small HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 3; ++i) chunked += "200\r\n" + std::string(512, 'y') + "\r\n";
  chunked += "0\r\n\r\n";
  HttpResult r = c.raw(chunked);
  CHECK(r.status == 413);
  CHECK_THAT(r.body, Catch::Contains("payload_too_large"));
}

TEST_CASE("streams are chunked, end with the last chunk, and keep the connection", "[http]") {
  Server s;
  UnixHttp c(s.socket());
  std::vector<std::string> lines;
  int status = c.stream("/stream?n=20", [&](const std::string& l) {
    lines.push_back(l);
    return true;
  });
  CHECK(status == 200);
  REQUIRE(lines.size() == 20);
  CHECK(lines[19] == "line 19");
  CHECK(c.request("GET", "/after").status == 200);
}

TEST_CASE("a client hanging up mid-stream stops the source", "[http]") {
  Server s;
  {
    UnixHttp c(s.socket());
    int seen = 0;
    c.stream("/stream?n=100000&ms=5", [&](const std::string&) { return ++seen < 3; });  // hang up after 3 lines
  }
  REQUIRE(s.last_source);
  CHECK(eventually([&] { return s.last_source->stopped_.load(); }, std::chrono::seconds(5)));
}

TEST_CASE("a buffered source's answer carries the status it ends with, as an ordinary response", "[http]") {
  Server s;
  UnixHttp c(s.socket());
  HttpResult r = c.request("GET", "/answer?status=500&ms=50");
  CHECK(r.status == 500);
  CHECK(r.body == "{\"status\":500}");
  r = c.request("GET", "/answer?status=200");
  CHECK(r.status == 200);
  CHECK(r.body == "{\"status\":200}");
  CHECK(c.request("GET", "/after").status == 200);  // the connection keeps serving
}

TEST_CASE("a client hanging up before a buffered answer stops the source", "[http]") {
  Server s;
  {
    // A raw connection: send the request, wait until the server holds the source, hang up.
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, s.socket().c_str(), sizeof(addr.sun_path) - 1);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    const std::string req = "GET /answer?ms=100000 HTTP/1.1\r\nHost: wb\r\n\r\n";
    REQUIRE(::write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size()));
    const bool held = eventually([&] { return s.last_answer != nullptr; }, std::chrono::seconds(5));
    ::close(fd);
    REQUIRE(held);
  }
  CHECK(eventually([&] { return s.last_answer->stopped_.load(); }, std::chrono::seconds(5)));
}

TEST_CASE("a client that half-closes after its request still gets the answer", "[http]") {
  Server s;
  // A buffered answer that takes a while: the half-close (EOF on the socket) arrives first.
  for (int i = 0; i < 5; ++i) {
    RawSocket c = RawSocket::unix_socket(s.socket());
    REQUIRE(c.send("GET /answer?ms=150 HTTP/1.1\r\nHost: x\r\n\r\n"));
    c.shutdown_write();
    bool closed = false;
    std::string got = c.read_all(std::chrono::seconds(10), &closed);
    CHECK(status_of(got) == 200);
    CHECK_THAT(got, Catch::Contains("{\"status\":200}"));
    CHECK(closed);  // answered, then closed: the client cannot send another request
  }
  // A plain answer too.
  RawSocket c = RawSocket::unix_socket(s.socket());
  REQUIRE(c.send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  c.shutdown_write();
  CHECK(status_of(c.read_all(std::chrono::seconds(10))) == 200);
}

TEST_CASE("chunked bodies: a bad chunk size, an endless chunk extension or trailer are answered", "[http]") {
  Server s;
  auto send_chunked = [&](const std::string& chunked_part) {
    RawSocket c = RawSocket::unix_socket(s.socket());
    c.send("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_part);
    return c.read_all(std::chrono::seconds(10), nullptr, 12);
  };
  CHECK(status_of(send_chunked("zz\r\nabc\r\n0\r\n\r\n")) == 400);
  CHECK(status_of(send_chunked("3;" + std::string(1 << 20, 'e') + "\r\nabc\r\n0\r\n\r\n")) == 413);
  CHECK(status_of(send_chunked("3\r\nabc\r\n0\r\nX-T: " + std::string(1 << 20, 't') + "\r\n\r\n")) == 413);
  CHECK(status_of(send_chunked("ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n")) / 100 == 4);
  // And the server still serves.
  CHECK(http(s.socket(), "POST", "/big", "ok").status == 200);
}
