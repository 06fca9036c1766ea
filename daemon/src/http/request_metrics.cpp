#include "http/request_metrics.h"

namespace wb::daemon {

std::string prometheus_escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '\\') o += "\\\\";
    else if (c == '"') o += "\\\"";
    else if (c == '\n') o += "\\n";
    else o += c;
  }
  return o;
}

void RequestMetrics::observe(const std::string& route, int status) {
  std::lock_guard<std::mutex> lk(mu_);
  ++counts_[{route, status}];
}

std::string RequestMetrics::render() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::string out =
      "# HELP workbench_http_requests_total HTTP responses by route pattern and status.\n"
      "# TYPE workbench_http_requests_total counter\n";
  for (auto& [k, n] : counts_)
    out += "workbench_http_requests_total{route=\"" + prometheus_escape(k.first) + "\",status=\"" +
           std::to_string(k.second) + "\"} " + std::to_string(n) + "\n";
  return out;
}

}  // namespace wb::daemon
