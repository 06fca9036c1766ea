// router.h — maps (method, path) to a handler.
//
// Patterns are literal segments and `{name}` captures:  "/v1/jobs/{id}/events".
// dispatch() fills Request::params and Request::route, and throws ApiError 404 `not_found` for
// an unknown path or 405 `method_not_allowed` when the path matches but the method does not.
// Literal segments win over captures ("/v1/comparisons/export" before "/v1/comparisons/{x}").
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "http/message.h"

namespace wb::daemon {

class Router {
 public:
  using Handler = std::function<Response(Request&)>;

  // Where a route's handler runs: on the I/O thread that read the request (quick work), or on
  // the worker pool (work that may take long: imports, exports, plugin methods).
  enum class Runs { OnIo, OnWorkers };

  void add(std::string method, std::string pattern, Handler handler, Runs runs = Runs::OnIo);
  Response dispatch(Request& req) const;
  // The matched route's Runs (OnIo when nothing matches: the error answer is quick).
  Runs runs(const std::string& method, const std::string& path) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    Runs runs = Runs::OnIo;
  };
  // The best route for (method, segments); nullptr and `path_matched`/`allowed` filled otherwise.
  const Route* match(const std::string& method, const std::vector<std::string>& segs, bool& path_matched,
                     std::vector<std::string>& allowed) const;
  std::vector<Route> routes_;
};

// Splits "/a/b/c" into {"a","b","c"}; percent-decodes each segment.
std::vector<std::string> split_path(const std::string& path);

// "%41+b" -> "A b" (plus as space only when form == true).
std::string url_decode(const std::string& s, bool form);

}  // namespace wb::daemon
