// serving_metrics.h — what GET /metrics reports about OpenAI-style requests, measured by the
// daemon itself (it sees each request's submission, first token and "done" event).
//
//   workbench_serving_requests_total{endpoint="chat",finish_reason="stop"}   counter
//   workbench_serving_prompt_tokens_total / _completion_tokens_total        counters
//   workbench_serving_request_duration_seconds                              histogram
//   workbench_serving_time_to_first_token_seconds                           histogram
//
// Gauges that belong to the plugin (running, queued, resident adapters) are rendered from its
// stats() by render_plugin_gauges().
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::daemon {

// A Prometheus histogram with fixed upper bounds (seconds); thread-safe.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  // The _bucket (cumulative, ending in le="+Inf"), _sum and _count lines of `name`.
  std::string render(const std::string& name, const std::string& help) const;

 private:
  mutable std::mutex mu_;
  std::vector<double> bounds_;
  std::vector<std::uint64_t> counts_;  // per bucket (not cumulative); last = +Inf
  double sum_ = 0;
  std::uint64_t count_ = 0;
};

class ServingMetrics {
 public:
  ServingMetrics();

  // One finished request: endpoint "completions" | "chat"; seconds from submission to "done".
  void finished(const std::string& endpoint, const std::string& finish_reason, std::int64_t prompt_tokens,
                std::int64_t completion_tokens, double seconds);
  // Seconds from submission to the first token of a request.
  void first_token(double seconds);
  // The daemon-side series above, with HELP/TYPE headers.
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> requests_;
  std::uint64_t prompt_tokens_ = 0, completion_tokens_ = 0;
  Histogram latency_, ttft_;
};

// Gauges from the serving plugin's stats() JSON (docs/SERVING.md): workbench_serving_model_loaded,
// _running, _queued, _tokens_per_second, _adapter_bytes, _adapters_resident,
// _adapter_refs{adapter,version,resident} and the counter _rejected_total. Missing fields are
// left out.
std::string render_plugin_gauges(const nlohmann::json& stats);

}  // namespace wb::daemon
