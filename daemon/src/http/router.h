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

  void add(std::string method, std::string pattern, Handler handler);
  Response dispatch(Request& req) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
  };
  std::vector<Route> routes_;
};

// Splits "/a/b/c" into {"a","b","c"}; percent-decodes each segment.
std::vector<std::string> split_path(const std::string& path);

// "%41+b" -> "A b" (plus as space only when form == true).
std::string url_decode(const std::string& s, bool form);

}  // namespace wb::daemon
