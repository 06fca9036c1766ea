// daemon_client.h — the daemon's JSON API as seen by wb commands (docs/PROTOCOL.md).
//
// Wraps HttpClient: request bodies are JSON, 2xx responses are parsed as JSON, and any status
// >= 400 becomes a DaemonError carrying the daemon's {"error":{"code","message"}}. Streams are
// offered raw (exports) or split into lines (NDJSON event streams).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "wb/cli/errors.h"
#include "wb/cli/http_client.h"

namespace wb::cli {

class DaemonClient {
 public:
  explicit DaemonClient(std::string socket_path);

  const std::string& socket_path() const { return http_.socket_path(); }

  nlohmann::json get(std::string_view target) const;
  // Throws Error (before connecting) when `body` holds strings that are not valid UTF-8.
  nlohmann::json post(std::string_view target, const nlohmann::json& body) const;
  nlohmann::json del(std::string_view target) const;

  // Streams a GET body as raw bytes. Returns normally when the body ends (or on_data returned
  // false); throws DaemonError for an error status.
  void stream(std::string_view target, const std::function<bool(std::string_view)>& on_data) const;
  // POSTs a JSON body and streams the response body raw (server-sent events of
  // /v1/completions); an error status throws DaemonError before on_data is called.
  void post_stream(std::string_view target, const nlohmann::json& body,
                   const std::function<bool(std::string_view)>& on_data) const;

  // Streams a GET body split at '\n' (NDJSON); the line excludes the newline. A trailing line
  // without '\n' is delivered too. on_line returning false stops the stream.
  void stream_lines(std::string_view target,
                    const std::function<bool(std::string_view)>& on_line) const;

 private:
  nlohmann::json parse_reply(const HttpResponse& r) const;
  HttpClient http_;
};

// Turns an HTTP error status + body into the DaemonError to throw (message from the daemon's
// JSON error object, or a generic "HTTP <status>" sentence when the body is not one).
DaemonError daemon_error_from(int status, std::string_view body);

// Percent-encodes a string for use as one URL path segment or query value (RFC 3986 unreserved
// characters pass through).
std::string url_encode(std::string_view s);

}  // namespace wb::cli
