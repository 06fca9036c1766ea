// The HTTP load client of http_load.h.
#include "http_load.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::bench {

namespace {

// A connected socket, closed on scope exit.
class Conn {
 public:
  Conn(const std::string& host, int port) {
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
      throw std::runtime_error("resolve " + host + ": " + gai_strerror(rc));
    for (addrinfo* a = res; a && fd_ < 0; a = a->ai_next) {
      fd_ = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
      if (fd_ >= 0 && ::connect(fd_, a->ai_addr, a->ai_addrlen) != 0) {
        ::close(fd_);
        fd_ = -1;
      }
    }
    ::freeaddrinfo(res);
    if (fd_ < 0) throw std::runtime_error("cannot connect to " + host + ":" + std::to_string(port));
  }
  ~Conn() { ::close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  void send_all(const std::string& s) {
    for (size_t at = 0; at < s.size();) {
      const ssize_t k = ::send(fd_, s.data() + at, s.size() - at, MSG_NOSIGNAL);
      if (k <= 0) throw std::runtime_error("send failed");
      at += static_cast<size_t>(k);
    }
  }
  std::string read_all() {
    std::string out;
    char buf[65536];
    for (ssize_t k; (k = ::recv(fd_, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<size_t>(k));
    return out;
  }

 private:
  int fd_ = -1;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Status and body of a raw HTTP/1.1 response (Content-Length or chunked, read to EOF).
std::pair<int, std::string> parse_response(const std::string& raw) {
  const size_t head_end = raw.find("\r\n\r\n");
  if (raw.compare(0, 5, "HTTP/") != 0 || head_end == std::string::npos)
    throw std::runtime_error("not an HTTP response: " + raw.substr(0, 80));
  const int status = std::stoi(raw.substr(raw.find(' ') + 1, 3));
  std::string body = raw.substr(head_end + 4);
  if (lower(raw.substr(0, head_end)).find("transfer-encoding: chunked") != std::string::npos) {
    std::string out;
    for (size_t at = 0;;) {
      const size_t eol = body.find("\r\n", at);
      if (eol == std::string::npos) break;
      const size_t len = std::stoul(body.substr(at, eol - at), nullptr, 16);
      if (len == 0) break;
      out += body.substr(eol + 2, len);
      at = eol + 2 + len + 2;
    }
    body = std::move(out);
  }
  return {status, body};
}

}  // namespace

HttpTarget parse_url(const std::string& url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    throw std::invalid_argument("--url: expected http://HOST:PORT, got '" + url + "'");
  std::string rest = url.substr(scheme.size());
  rest = rest.substr(0, rest.find('/'));
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon + 1 == rest.size())
    throw std::invalid_argument("--url: no port in '" + url + "'");
  HttpTarget t;
  t.host = rest.substr(0, colon);
  t.port = std::stoi(rest.substr(colon + 1));
  return t;
}

HttpRun http_completions(const HttpTarget& t, int n, const std::string& prompt, int64_t generate) {
  const std::string body = nlohmann::json{{"model", t.model}, {"prompt", prompt}, {"max_tokens", generate},
                                          {"temperature", 0}, {"ignore_eos", true}, {"stream", false}}
                               .dump();
  std::string req = "POST /v1/completions HTTP/1.1\r\nHost: " + t.host + "\r\nContent-Type: application/json\r\n" +
                    "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!t.token.empty()) req += "Authorization: Bearer " + t.token + "\r\n";
  req += "\r\n" + body;

  std::mutex mu;
  std::string error;
  HttpRun run;
  std::vector<double> latency;
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < n; ++i)
    threads.emplace_back([&] {
      try {
        const auto s0 = std::chrono::steady_clock::now();
        Conn c(t.host, t.port);
        c.send_all(req);
        const auto [status, reply] = parse_response(c.read_all());
        const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
        if (status != 200) throw std::runtime_error("HTTP " + std::to_string(status) + ": " + reply.substr(0, 300));
        const int64_t k = nlohmann::json::parse(reply).at("usage").at("completion_tokens").get<int64_t>();
        std::lock_guard l(mu);
        run.tokens += k;
        latency.push_back(dt);
      } catch (const std::exception& e) {
        std::lock_guard l(mu);
        if (error.empty()) error = e.what();
      }
    });
  for (auto& th : threads) th.join();
  if (!error.empty()) throw std::runtime_error(error);
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  run.tokens_per_s = static_cast<double>(run.tokens) / run.wall_s;
  for (double l : latency) run.latency_mean_s += l / static_cast<double>(latency.size());
  run.latency_max_s = *std::max_element(latency.begin(), latency.end());
  return run;
}

}  // namespace wb::bench
