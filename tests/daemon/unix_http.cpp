#include "unix_http.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wbtest {

UnixHttp::UnixHttp(const std::string& socket_path) : path_(socket_path) { connect_(); }
UnixHttp::~UnixHttp() { close_(); }

void UnixHttp::connect_() {
  close_();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    throw std::runtime_error("connect " + path_ + ": " + std::strerror(e));
  }
  fd_ = fd;
  buf_.clear();
}

void UnixHttp::close_() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buf_.clear();
}

void UnixHttp::send_all(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      // The server may answer (413) and close before reading everything: stop writing and
      // let the caller read the response.
      if (errno == EPIPE || errno == ECONNRESET) return;
      throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
}

bool UnixHttp::fill() {
  char tmp[65536];
  for (;;) {
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<std::size_t>(n));
    return true;
  }
}

std::string UnixHttp::read_line() {
  for (;;) {
    auto p = buf_.find("\r\n");
    if (p != std::string::npos) {
      std::string line = buf_.substr(0, p);
      buf_.erase(0, p + 2);
      return line;
    }
    if (!fill()) throw std::runtime_error("connection closed while reading a line");
  }
}

std::string UnixHttp::read_exact(std::size_t n) {
  while (buf_.size() < n)
    if (!fill()) throw std::runtime_error("connection closed while reading a body");
  std::string out = buf_.substr(0, n);
  buf_.erase(0, n);
  return out;
}

HttpResult UnixHttp::read_response(const std::function<bool(const std::string&)>* on_line) {
  HttpResult r;
  std::string status = read_line();
  if (status.rfind("HTTP/1.1 ", 0) != 0) throw std::runtime_error("bad status line: " + status);
  r.status = std::stoi(status.substr(9, 3));
  for (;;) {
    std::string h = read_line();
    if (h.empty()) break;
    auto c = h.find(':');
    std::string k = h.substr(0, c);
    for (auto& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string v = c == std::string::npos ? "" : h.substr(c + 1);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    r.headers[k] = v;
  }
  bool close_after = r.headers["connection"] == "close";
  if (r.headers["transfer-encoding"] == "chunked") {
    r.chunked = true;
    std::string pending;
    bool stopped = false;
    for (;;) {
      std::size_t size = std::stoul(read_line(), nullptr, 16);
      if (size == 0) {
        read_line();  // CRLF after the last chunk (no trailers)
        break;
      }
      std::string data = read_exact(size);
      read_line();
      r.body += data;
      if (on_line) {
        pending += data;
        std::size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          std::string line = pending.substr(0, nl);
          pending.erase(0, nl + 1);
          if (!(*on_line)(line)) {
            stopped = true;
            break;
          }
        }
        if (stopped) break;
      }
    }
    if (stopped) close_after = true;
  } else if (r.headers.count("content-length")) {
    r.body = read_exact(std::stoul(r.headers["content-length"]));
  } else {
    while (fill()) {
    }
    r.body = buf_;
    buf_.clear();
    close_after = true;
  }
  if (close_after) close_();
  return r;
}

HttpResult UnixHttp::request(const std::string& method, const std::string& target, const std::string& body,
                             const std::string& content_type) {
  if (fd_ < 0) connect_();
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: workbenchd\r\n";
  if (!body.empty() || method == "POST")
    req += "Content-Type: " + content_type + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n";
  req += body;
  send_all(req);
  return read_response(nullptr);
}

HttpResult UnixHttp::raw(const std::string& bytes) {
  if (fd_ < 0) connect_();
  send_all(bytes);
  return read_response(nullptr);
}

int UnixHttp::stream(const std::string& target, const std::function<bool(const std::string&)>& on_line) {
  if (fd_ < 0) connect_();
  send_all("GET " + target + " HTTP/1.1\r\nHost: workbenchd\r\n\r\n");
  HttpResult r = read_response(&on_line);
  if (!r.chunked && on_line) {
    // A plain (error or follow=false) body: deliver its lines too.
    std::size_t i = 0;
    while (i < r.body.size()) {
      auto nl = r.body.find('\n', i);
      if (nl == std::string::npos) nl = r.body.size();
      if (!on_line(r.body.substr(i, nl - i))) break;
      i = nl + 1;
    }
  }
  return r.status;
}

HttpResult http(const std::string& socket_path, const std::string& method, const std::string& target,
                const std::string& body) {
  UnixHttp c(socket_path);
  return c.request(method, target, body);
}

}  // namespace wbtest
