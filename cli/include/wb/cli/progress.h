// progress.h — following a job: event bookkeeping, the one-line progress bar, and its renderer.
//
// ProgressTracker consumes the daemon's job events (PROTOCOL.md: state/progress/metric/log) and
// derives what the bar shows; format_progress_line() turns that into one line of a given width
// (a pure function, unit-tested); ProgressBar draws it in place on a terminal, with log lines
// printed above it.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace wb::cli {

// What the bar shows. Negative numbers mean "unknown" and are left out of the line.
struct ProgressSnapshot {
  std::string state;          // queued/running/... ("" before the first state event)
  double fraction = -1;       // 0..1
  std::string phase;          // "train", "eval", ...
  std::int64_t step = -1;     // latest step seen in a metric event
  double steps_per_s = -1;    // step rate over the observed window
  double eta_s = -1;          // time left, from the observed rate of progress
  std::string metric_name;    // latest loss-like metric ("" if none yet)
  double metric_value = 0;
};

// e.g. "[##########..........]  50% train | step 120 | 3.4 steps/s | ETA 1m05s | train_loss 2.3412"
// The bar stretches to fill `width` (8..max_bar cells, max_bar itself capped at 40); trailing
// parts are dropped, then the line is cut, so the result never exceeds `width` code points (for
// width >= 20).
std::string format_progress_line(const ProgressSnapshot& s, int width, int max_bar = 40);

// 42 -> "42s", 125 -> "2m05s", 3725 -> "1h02m05s", < 0 -> "?".
std::string format_duration(double seconds);

// Keeps the state of one followed job. Times are seconds on any monotonic clock (passed in so
// tests control them).
//
// Rates (steps/s, and the progress rate behind the ETA) are measured from a baseline sample to
// the latest one. The daemon replays a job's stored history the moment a stream connects, so
// every sample arriving within kBurstS of the first one is part of that burst and carries no
// timing: the baseline moves to the latest such sample and measuring starts after it.
class ProgressTracker {
 public:
  static constexpr double kBurstS = 0.05;

  // Feeds one event object; returns false for events it does not know (they are ignored).
  bool on_event(const nlohmann::json& event, double now_s);
  ProgressSnapshot snapshot() const { return snap_; }
  // True once a state event reported succeeded, failed or cancelled.
  bool finished() const;
  // The record fields of the latest state event (error message etc.).
  const nlohmann::json& last_state() const { return last_state_; }

 private:
  ProgressSnapshot snap_;
  nlohmann::json last_state_ = nlohmann::json::object();
  // First observation of step and of fraction: rates are measured from there.
  double step_t0_ = -1, frac_t0_ = -1;
  double step_first_t_ = -1, frac_first_t_ = -1;
  std::int64_t step0_ = -1;
  double frac0_ = -1;
  bool metric_is_loss_ = false;
};

// True when `state` is final (succeeded, failed, cancelled).
bool is_final_state(std::string_view state);

// Draws the bar in place on a terminal (carriage return + erase line; no cursor movement beyond
// the current line). print_line() erases the bar, prints a full line, and redraws the bar below.
// The bar only ever narrows (as the text beside it grows), so it does not jitter between redraws.
class ProgressBar {
 public:
  ProgressBar(std::ostream& os, int width) : os_(os), width_(width) {}
  void draw(const ProgressSnapshot& s);
  void print_line(const std::string& line);
  // Leaves the last bar on screen and ends the line.
  void finish();

 private:
  std::ostream& os_;
  int width_;
  std::string last_;
  bool drawn_ = false;
  int bar_cells_ = 40;  // narrowest bar drawn so far
};

// Columns of the terminal on fd (TIOCGWINSZ), else $COLUMNS, else 80.
int terminal_width(int fd);

}  // namespace wb::cli
