// plain_events.h — how `wb job logs --follow` shows a job's events when stdout is not a
// terminal (logs, pipes, CI): one line per state change or log line; the metrics of one step
// gathered on one line ("step 110 train_loss=1.44 lr=0.003 tokens_per_s=382"), printed when the
// next step's first metric or any other event arrives (or at finish()); progress lines only when
// the phase changes or the percentage moves 5 points.
#pragma once

#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace wb::cli {

class PlainEventPrinter {
 public:
  explicit PlainEventPrinter(std::ostream& os) : os_(os) {}
  // One event of /v1/jobs/{id}/events (any type; unknown types are ignored).
  void on_event(const nlohmann::json& ev);
  // Prints the metrics still gathered (call when the stream ends).
  void finish();

 private:
  void flush_metrics();

  std::ostream& os_;
  std::string metrics_step_;  // step of the gathered metrics ("" when none)
  std::string metrics_;       // " name=value" for each
  std::string phase_;
  int pct_ = -100;
};

}  // namespace wb::cli
