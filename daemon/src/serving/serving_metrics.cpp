#include "serving/serving_metrics.h"

#include <cstdio>

#include "http/request_metrics.h"

namespace wb::daemon {

namespace {

std::string num(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

std::string header(const std::string& name, const std::string& help, const char* type) {
  return "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

Histogram::Histogram(std::vector<double> bounds) : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double v) {
  std::lock_guard<std::mutex> lk(mu_);
  std::size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;
  ++counts_[i];
  sum_ += v;
  ++count_;
}

std::string Histogram::render(const std::string& name, const std::string& help) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::string out = header(name, help, "histogram");
  std::uint64_t cum = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cum += counts_[i];
    out += name + "_bucket{le=\"" + num(bounds_[i]) + "\"} " + std::to_string(cum) + "\n";
  }
  cum += counts_.back();
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cum) + "\n";
  out += name + "_sum " + num(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
  return out;
}

ServingMetrics::ServingMetrics()
    : latency_({0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}),
      ttft_({0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}) {}

void ServingMetrics::finished(const std::string& endpoint, const std::string& finish_reason,
                              std::int64_t prompt_tokens, std::int64_t completion_tokens, double seconds) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    ++requests_[{endpoint, finish_reason}];
    prompt_tokens_ += static_cast<std::uint64_t>(std::max<std::int64_t>(0, prompt_tokens));
    completion_tokens_ += static_cast<std::uint64_t>(std::max<std::int64_t>(0, completion_tokens));
  }
  latency_.observe(seconds);
}

void ServingMetrics::first_token(double seconds) { ttft_.observe(seconds); }

std::string ServingMetrics::render() const {
  std::string out = header("workbench_serving_requests_total",
                           "Finished completion requests by endpoint and finish reason.", "counter");
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (auto& [k, n] : requests_)
      out += "workbench_serving_requests_total{endpoint=\"" + prometheus_escape(k.first) + "\",finish_reason=\"" +
             prometheus_escape(k.second) + "\"} " + std::to_string(n) + "\n";
    out += header("workbench_serving_prompt_tokens_total", "Prompt tokens of finished requests.", "counter");
    out += "workbench_serving_prompt_tokens_total " + std::to_string(prompt_tokens_) + "\n";
    out += header("workbench_serving_completion_tokens_total", "Generated tokens of finished requests.", "counter");
    out += "workbench_serving_completion_tokens_total " + std::to_string(completion_tokens_) + "\n";
  }
  out += latency_.render("workbench_serving_request_duration_seconds",
                         "Seconds from submission to the last token of a request.");
  out += ttft_.render("workbench_serving_time_to_first_token_seconds",
                      "Seconds from submission to the first generated token.");
  return out;
}

std::string render_plugin_gauges(const nlohmann::json& stats) {
  using nlohmann::json;
  auto gauge = [](const std::string& name, const std::string& help, double v) {
    return header(name, help, "gauge") + name + " " + num(v) + "\n";
  };
  std::string out;
  if (!stats.is_object()) return out;
  const auto& model = stats.contains("model") ? stats["model"] : nlohmann::json();
  out += gauge("workbench_serving_model_loaded", "1 when a base model is resident.",
               model.is_null() || (model.is_string() && model.get<std::string>().empty()) ? 0 : 1);
  if (stats.contains("running") && stats["running"].is_number())
    out += gauge("workbench_serving_running", "Requests being decoded.", stats["running"].get<double>());
  if (stats.contains("queued") && stats["queued"].is_number())
    out += gauge("workbench_serving_queued", "Requests waiting for a batch slot.", stats["queued"].get<double>());
  if (stats.contains("tokens_per_s") && stats["tokens_per_s"].is_number())
    out += gauge("workbench_serving_tokens_per_second", "Recent generation rate of the plugin.",
                 stats["tokens_per_s"].get<double>());
  if (stats.contains("adapter_bytes") && stats["adapter_bytes"].is_number())
    out += gauge("workbench_serving_adapter_bytes", "Tensor bytes of every adapter version alive (resident or held by requests).",
                 stats["adapter_bytes"].get<double>());
  if (stats.contains("adapters") && stats["adapters"].is_array()) {
    int resident = 0;
    std::string refs = header("workbench_serving_adapter_refs",
                              "Requests holding each adapter version (resident=\"false\": unloaded or replaced).", "gauge");
    for (auto& a : stats["adapters"]) {
      if (!a.is_object() || !a.contains("name") || !a["name"].is_string()) continue;
      const bool res = a.value("resident", true);
      resident += res ? 1 : 0;
      std::string version = a.contains("version") ? a["version"].dump() : "0";
      std::string label = "{adapter=\"" + prometheus_escape(a["name"].get<std::string>()) + "\",version=\"" +
                          prometheus_escape(version) + "\",resident=\"" + (res ? "true" : "false") + "\"} ";
      if (a.contains("refs") && a["refs"].is_number()) refs += "workbench_serving_adapter_refs" + label + num(a["refs"].get<double>()) + "\n";
    }
    out += gauge("workbench_serving_adapters_resident", "LoRA adapters loaded for new requests.", resident);
    out += refs;
  }
  const json& m = stats.contains("metrics") ? stats["metrics"] : json();
  if (m.is_object() && m.contains("requests_rejected") && m["requests_rejected"].is_number())
    out += header("workbench_serving_rejected_total", "Requests refused because the queue was full.", "counter") +
           "workbench_serving_rejected_total " + num(m["requests_rejected"].get<double>()) + "\n";
  return out;
}

}  // namespace wb::daemon
