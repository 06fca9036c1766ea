// message.h — the request/response values handlers see, independent of Beast.
//
// A handler gets a Request (method, decoded path, query parameters, path parameters captured
// by the router, body) and returns a Response: either a complete body, or a StreamSource that
// produces chunks over time (sent with Transfer-Encoding: chunked, e.g. job event streams).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace wb::daemon {

struct Request {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // raw request target
  std::string path;                            // target without the query string
  std::map<std::string, std::string> query;    // decoded ?a=b&c=d (last one wins)
  std::map<std::string, std::string> params;   // router captures: "/v1/jobs/{id}" -> params["id"]
  std::string body;
  std::string route;                           // the matched route pattern (for metrics)
  std::map<std::string, std::string> headers;  // lower-case names (last one wins)
  // Set by the daemon when the request carries an annotator's token (http/web_access.h): the
  // annotator every label of this request is recorded for.
  std::optional<std::string> annotator;

  // Query parameter or `fallback` when absent.
  std::string query_or(const std::string& key, const std::string& fallback) const {
    auto it = query.find(key);
    return it == query.end() ? fallback : it->second;
  }
};

// Produces the chunks of a streaming response. The server calls start() once with a sink; the
// source calls sink(chunk, last) from any thread, in order, and must not call it after
// last == true or after stop(). stop() is called when the client goes away or the server stops.
class StreamSource {
 public:
  using Sink = std::function<void(std::string chunk, bool last)>;
  virtual ~StreamSource() = default;
  virtual void start(Sink sink) = 0;
  virtual void stop() = 0;
  // A buffered source answers once (one sink call with last == true); the server writes nothing
  // before that and then sends an ordinary response with final_status() and that body. For a
  // result that takes long to produce and must carry its own status (a non-streamed completion
  // that may fail after it was accepted). A client that hangs up meanwhile still gets stop().
  virtual bool buffered() const { return false; }
  virtual int final_status() const { return 200; }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::shared_ptr<StreamSource> stream;  // when set, body is ignored and chunks are streamed
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers ("Retry-After")
};

}  // namespace wb::daemon
