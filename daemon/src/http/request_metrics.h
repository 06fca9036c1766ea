// request_metrics.h — counters behind GET /metrics (Prometheus text exposition format).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace wb::daemon {

class RequestMetrics {
 public:
  // Counts one response; route is the matched pattern ("/v1/jobs/{id}") or "-" when unrouted.
  void observe(const std::string& route, int status);
  // workbench_http_requests_total{route="...",status="..."} lines with HELP/TYPE headers.
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, std::uint64_t> counts_;
};

// Escapes a Prometheus label value (backslash, quote, newline).
std::string prometheus_escape(const std::string& s);

}  // namespace wb::daemon
