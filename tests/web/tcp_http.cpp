#include "tcp_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace wbtest {

namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string dechunk(const std::string& in) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    const std::size_t crlf = in.find("\r\n", i);
    if (crlf == std::string::npos) break;
    const std::size_t n = std::stoul(in.substr(i, crlf - i), nullptr, 16);
    if (n == 0) break;
    out += in.substr(crlf + 2, n);
    i = crlf + 2 + n + 2;
  }
  return out;
}

}  // namespace

HttpResult tcp_http(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body,
                    const std::vector<std::string>& headers) {
  Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // Never wait for ever: a stuck server fails the test instead of hanging it.
  timeval limit{60, 0};
  ::setsockopt(s.fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  if (::connect(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                    "\r\nConnection: close\r\n";
  for (const auto& h : headers) req += h + "\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  for (std::size_t off = 0; off < req.size();) {
    const ssize_t n = ::send(s.fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) throw std::runtime_error("send to 127.0.0.1:" + std::to_string(port) + " failed");
    off += static_cast<std::size_t>(n);
  }
  // Read until the response is complete by its own framing (Content-Length, the last chunk),
  // or until the server closes: some servers keep the connection open despite Connection: close.
  std::string all;
  char buf[65536];
  auto complete = [&all] {
    const std::size_t end = all.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    std::string head = all.substr(0, end);
    for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::size_t cl = head.find("\r\ncontent-length:");
    if (cl != std::string::npos) return all.size() - end - 4 >= std::stoul(head.substr(cl + 17));
    if (head.find("chunked") != std::string::npos) return all.find("\r\n0\r\n\r\n", end) != std::string::npos;
    return false;
  };
  while (!complete()) {
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  const std::size_t end = all.find("\r\n\r\n");
  if (end == std::string::npos) throw std::runtime_error("no HTTP response from 127.0.0.1:" + std::to_string(port));
  HttpResult r;
  const std::string head = all.substr(0, end);
  r.status = std::stoi(head.substr(head.find(' ') + 1, 3));
  std::size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos < head.size()) {
    const std::size_t next = head.find("\r\n", pos + 2);
    const std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    const std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = next;
  }
  r.body = all.substr(end + 4);
  auto te = r.headers.find("transfer-encoding");
  if (te != r.headers.end() && te->second.find("chunked") != std::string::npos) {
    r.chunked = true;
    r.body = dechunk(r.body);
  }
  return r;
}

std::uint16_t free_port() {
  Fd s{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (::bind(s.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(s.fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("cannot find a free TCP port");
  return ntohs(a.sin_port);
}

}  // namespace wbtest
