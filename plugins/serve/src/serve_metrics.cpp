#include "serve_metrics.h"

#include <algorithm>

namespace wb::serve {

using nlohmann::json;

Histogram::Histogram(std::vector<double> upper_bounds) : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double s) {
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), s) - bounds_.begin());
  ++counts_[i];
  sum_ += s;
  ++count_;
}

json Histogram::to_json() const {
  json cum = json::array();
  uint64_t c = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) cum.push_back(c += counts_[i]);
  return {{"le", bounds_}, {"counts", cum}, {"sum", sum_}, {"count", count_}};
}

namespace {
constexpr double kWindowS = 10.0;
const std::vector<double> kLatencyBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}  // namespace

ServeMetrics::ServeMetrics() : ttft_(kLatencyBounds), latency_(kLatencyBounds) {}

void ServeMetrics::submitted() {
  std::lock_guard l(mu_);
  ++requests_;
}
void ServeMetrics::rejected_busy() {
  std::lock_guard l(mu_);
  ++rejected_;
}
void ServeMetrics::first_token(double s) {
  std::lock_guard l(mu_);
  ttft_.observe(s);
}
void ServeMetrics::tokens(int64_t n) {
  std::lock_guard l(mu_);
  const auto now = Clock::now();
  recent_.emplace_back(now, n);
  rate_locked(now);  // trims the window
}
void ServeMetrics::step(int64_t rows) {
  std::lock_guard l(mu_);
  ++steps_;
  step_rows_ += static_cast<uint64_t>(rows);
}
void ServeMetrics::prefilled(int64_t tokens) {
  std::lock_guard l(mu_);
  prefill_tokens_ += static_cast<uint64_t>(tokens);
}
void ServeMetrics::forked(int64_t sequences) {
  std::lock_guard l(mu_);
  forked_ += static_cast<uint64_t>(sequences);
}
void ServeMetrics::finished(const std::string& reason, int64_t prompt_tokens, int64_t completion_tokens, double latency_s) {
  std::lock_guard l(mu_);
  if (reason == "stop") ++fin_stop_;
  else if (reason == "length") ++fin_length_;
  else if (reason == "cancelled") ++fin_cancelled_;
  else ++fin_error_;
  prompt_tokens_ += static_cast<uint64_t>(prompt_tokens);
  completion_tokens_ += static_cast<uint64_t>(completion_tokens);
  latency_.observe(latency_s);
}

double ServeMetrics::rate_locked(Clock::time_point now) const {
  while (!recent_.empty() && std::chrono::duration<double>(now - recent_.front().first).count() > kWindowS)
    recent_.pop_front();
  int64_t n = 0;
  for (const auto& [t, k] : recent_) n += k;
  const double span = std::min(kWindowS, std::chrono::duration<double>(now - start_).count());
  return span > 0 ? static_cast<double>(n) / span : 0.0;
}

double ServeMetrics::tokens_per_s() const {
  std::lock_guard l(mu_);
  return rate_locked(Clock::now());
}

json ServeMetrics::to_json() const {
  std::lock_guard l(mu_);
  return {{"requests_total", requests_},
          {"requests_rejected", rejected_},
          {"requests_finished", {{"stop", fin_stop_}, {"length", fin_length_}, {"cancelled", fin_cancelled_}, {"error", fin_error_}}},
          {"prompt_tokens_total", prompt_tokens_},
          {"completion_tokens_total", completion_tokens_},
          {"steps_total", steps_},
          {"step_rows_total", step_rows_},
          {"prefill_tokens_total", prefill_tokens_},
          {"forked_sequences_total", forked_},
          {"ttft_seconds", ttft_.to_json()},
          {"latency_seconds", latency_.to_json()}};
}

}  // namespace wb::serve
