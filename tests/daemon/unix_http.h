// unix_http.h — a small blocking HTTP/1.1 client over a Unix socket, for the daemon tests.
//
// Written from scratch on POSIX sockets (no Beast) so the tests exercise the daemon as an
// independent client would: Content-Length and chunked bodies, keep-alive, raw writes.
//
//   UnixHttp c(socket_path);                     // connects (throws on failure)
//   HttpResult r = c.request("GET", "/v1/health");
//   c.stream("/v1/jobs/1/events", [](const std::string& line) { return true; });  // NDJSON
#pragma once

#include <functional>
#include <map>
#include <string>

namespace wbtest {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool chunked = false;
};

class UnixHttp {
 public:
  explicit UnixHttp(const std::string& socket_path);
  ~UnixHttp();
  UnixHttp(const UnixHttp&) = delete;
  UnixHttp& operator=(const UnixHttp&) = delete;

  // One request on the kept-alive connection (reconnects if the server closed it).
  HttpResult request(const std::string& method, const std::string& target, const std::string& body = "",
                     const std::string& content_type = "application/json");
  // Sends raw bytes and reads one response (for malformed requests).
  HttpResult raw(const std::string& bytes);
  // GET of a chunked NDJSON stream: calls on_line for every line until the stream ends or
  // on_line returns false (then the connection is closed). Returns the status.
  int stream(const std::string& target, const std::function<bool(const std::string&)>& on_line);

  bool connected() const { return fd_ >= 0; }

 private:
  void connect_();
  void close_();
  void send_all(const std::string& bytes);
  HttpResult read_response(const std::function<bool(const std::string&)>* on_line);
  std::string read_line();
  std::string read_exact(std::size_t n);
  bool fill();

  std::string path_;
  int fd_ = -1;
  std::string buf_;
};

// Convenience: one request on a fresh connection.
HttpResult http(const std::string& socket_path, const std::string& method, const std::string& target,
                const std::string& body = "");

}  // namespace wbtest
