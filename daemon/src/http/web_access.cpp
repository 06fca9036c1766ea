#include "http/web_access.h"

namespace wb::daemon {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// /v1/jobs/<id> and /v1/jobs/<id>/metrics.
bool job_view(const std::string& path) {
  if (!starts_with(path, "/v1/jobs/")) return false;
  const std::string rest = path.substr(9);
  const auto slash = rest.find('/');
  if (rest.empty() || slash == 0) return false;
  return slash == std::string::npos || rest.substr(slash) == "/metrics";
}

}  // namespace

bool is_web_static(const std::string& method, const std::string& path) {
  if (method != "GET") return false;
  if (path == "/") return true;
  return starts_with(path, "/ui/") && path.size() > 4 && path.find('/', 4) == std::string::npos;
}

bool annotator_may(const std::string& method, const std::string& path) {
  return is_web_static(method, path) || (method == "GET" && path == "/v1/comparisons/next") ||
         (method == "POST" && path == "/v1/comparisons") || (method == "GET" && path == "/v1/annotators/me");
}

bool web_admin_route(const std::string& method, const std::string& path) {
  if (method == "GET" && (path == "/v1/jobs" || job_view(path) || path == "/v1/comparisons/stats" ||
                          path == "/v1/demo/results" || path == "/v1/comparisons/next"))
    return true;
  return method == "POST" && path == "/v1/comparisons";
}

std::optional<std::string> bearer_token(const Request& head) {
  const auto it = head.headers.find("authorization");
  if (it == head.headers.end()) return std::nullopt;
  const std::string prefix = "Bearer ";
  if (it->second.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
  return it->second.substr(prefix.size());
}

std::string annotator_forbidden_message(const std::string& method, const std::string& path) {
  return "an annotator token may only label (GET /v1/comparisons/next, POST /v1/comparisons, GET "
         "/v1/annotators/me and the web pages), not " + method + " " + path;
}

}  // namespace wb::daemon
