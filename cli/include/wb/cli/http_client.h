// http_client.h — minimal HTTP/1.1 client over a Unix domain socket (Boost.Beast underneath).
//
// One connection per request (the daemon is local, connections are cheap). Chunked transfer
// coding is decoded transparently. Connection failures throw ConnectError; a connection that
// breaks mid-response throws Error. HTTP error statuses are NOT exceptions here: the caller
// (DaemonClient) decides what a 4xx/5xx means.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace wb::cli {

struct HttpResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

class HttpClient {
 public:
  explicit HttpClient(std::string socket_path);

  const std::string& socket_path() const { return socket_path_; }

  // Sends `method target` with an optional JSON body and reads the whole response.
  HttpResponse request(std::string_view method, std::string_view target,
                       const std::optional<std::string>& json_body = std::nullopt) const;

  // Sends a GET and hands the response body to `on_data` piece by piece as it arrives (for
  // NDJSON streams and large exports). Returns the HTTP status. When the status is >= 400 the
  // body is not streamed: it is collected into `error_body` instead. `on_data` returning false
  // stops reading and closes the connection.
  int stream(std::string_view target, const std::function<bool(std::string_view)>& on_data,
             std::string& error_body) const;
  // The same for any method with an optional JSON body (POST /v1/completions with "stream").
  int stream(std::string_view method, std::string_view target, const std::optional<std::string>& json_body,
             const std::function<bool(std::string_view)>& on_data, std::string& error_body) const;

 private:
  std::string socket_path_;
};

}  // namespace wb::cli
