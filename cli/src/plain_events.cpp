#include "wb/cli/plain_events.h"

#include <cmath>
#include <cstdio>

#include "wb/cli/output.h"

namespace wb::cli {

using nlohmann::json;

void PlainEventPrinter::on_event(const json& ev) {
  const std::string type = ev.value("type", "");
  if (type == "metric") {
    const std::string step = cell(ev, "step");
    if (step != metrics_step_) flush_metrics();
    char v[48] = "-";
    if (ev.contains("value") && ev["value"].is_number())
      std::snprintf(v, sizeof v, "%.6g", ev["value"].get<double>());
    metrics_step_ = step;
    metrics_ += " " + cell(ev, "name") + "=" + v;
    return;
  }
  if (type == "state") {
    flush_metrics();
    std::string s = "state: " + cell(ev, "state");
    if (ev.contains("error") && ev["error"].is_string() && !ev["error"].get<std::string>().empty())
      s += " (error: " + ev["error"].get<std::string>() + ")";
    os_ << s << '\n';
  } else if (type == "log") {
    flush_metrics();
    os_ << "[" << cell(ev, "level") << "] " << cell(ev, "message") << '\n';
  } else if (type == "progress" && ev.contains("progress") && ev["progress"].is_number()) {
    const int pct = static_cast<int>(std::floor(ev["progress"].get<double>() * 100.0));
    const std::string phase = ev.value("phase", "");
    if (phase != phase_ || pct >= pct_ + 5 || (pct == 100 && pct_ != 100)) {
      flush_metrics();
      os_ << "progress: " << pct << "%" << (phase.empty() ? "" : " " + phase) << '\n';
      phase_ = phase;
      pct_ = pct;
    }
  }
  os_ << std::flush;
}

void PlainEventPrinter::finish() {
  flush_metrics();
  os_ << std::flush;
}

void PlainEventPrinter::flush_metrics() {
  if (metrics_.empty()) return;
  os_ << "step " << metrics_step_ << metrics_ << '\n';
  metrics_.clear();
  metrics_step_.clear();
}

}  // namespace wb::cli
