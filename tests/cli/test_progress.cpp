// Progress bar formatting and event bookkeeping (progress.h).
#include <catch2/catch.hpp>

#include <sstream>

#include "wb/cli/output.h"
#include "wb/cli/progress.h"

using nlohmann::json;
using namespace wb::cli;

TEST_CASE("format_duration", "[progress]") {
  CHECK(format_duration(0) == "0s");
  CHECK(format_duration(42.4) == "42s");
  CHECK(format_duration(125) == "2m05s");
  CHECK(format_duration(3725) == "1h02m05s");
  CHECK(format_duration(-1) == "?");
}

TEST_CASE("progress line shows bar and percent and phase and step and rate and ETA and metric", "[progress]") {
  ProgressSnapshot s;
  s.state = "running";
  s.fraction = 0.5;
  s.phase = "train";
  s.step = 120;
  s.steps_per_s = 3.4;
  s.eta_s = 65;
  s.metric_name = "train_loss";
  s.metric_value = 2.34119;
  const std::string line = format_progress_line(s, 120);
  CHECK(line ==
        "[####################....................]  50% train | step 120 | 3.40 steps/s | "
        "ETA 1m05s | train_loss 2.3412");
}

TEST_CASE("progress line fits the width (the bar shrinks then trailing parts drop)", "[progress]") {
  ProgressSnapshot s;
  s.fraction = 0.25;
  s.phase = "train";
  s.step = 7;
  s.steps_per_s = 12.5;
  s.eta_s = 3;
  s.metric_name = "loss";
  s.metric_value = 1;
  for (int width : {20, 30, 45, 60, 80, 200}) {
    const std::string line = format_progress_line(s, width);
    INFO("width " << width << ": " << line);
    CHECK(display_width(line) <= static_cast<std::size_t>(width));
    CHECK(line.rfind("[", 0) == 0);
  }
  // At 80 columns the bar is shorter than its 40-cell maximum but everything still fits.
  const std::string mid = format_progress_line(s, 80);
  CHECK(mid.size() == 80);
  CHECK(mid.find("loss 1.0000") != std::string::npos);
  CHECK(mid.find("[##") == 0);
  // At 45 the metric (the last part) is dropped before the bar goes under 8 cells.
  const std::string narrow = format_progress_line(s, 45);
  CHECK(narrow.find("loss") == std::string::npos);
  CHECK(narrow.find("step 7") != std::string::npos);
}

TEST_CASE("progress line with nothing known yet", "[progress]") {
  ProgressSnapshot s;
  s.state = "queued";
  CHECK(format_progress_line(s, 40) == "[..........................]   -% queued");
}

TEST_CASE("tracker derives step rate and ETA and the loss-like metric from events", "[progress]") {
  ProgressTracker t;
  CHECK(t.on_event({{"type", "state"}, {"state", "running"}, {"progress", 0.0}}, 100.0));
  CHECK(t.snapshot().state == "running");
  CHECK_FALSE(t.finished());
  t.on_event({{"type", "metric"}, {"step", 0}, {"name", "lr"}, {"value", 0.1}}, 100.1);
  CHECK(t.snapshot().metric_name == "lr");  // any metric until a loss shows up
  t.on_event({{"type", "metric"}, {"step", 10}, {"name", "train_loss"}, {"value", 2.5}}, 104.0);
  t.on_event({{"type", "metric"}, {"step", 10}, {"name", "lr"}, {"value", 0.05}}, 104.0);
  t.on_event({{"type", "progress"}, {"progress", 0.25}, {"phase", "train"}}, 105.0);
  ProgressSnapshot s = t.snapshot();
  CHECK(s.step == 10);
  CHECK(s.steps_per_s == Approx(10 / 3.9));     // 10 steps in 3.9 s
  CHECK(s.metric_name == "train_loss");         // loss wins over lr
  CHECK(s.metric_value == Approx(2.5));
  CHECK(s.phase == "train");
  CHECK(s.fraction == Approx(0.25));
  CHECK(s.eta_s == Approx(15.0));               // 0.25 in 5 s -> 0.75 left takes 15 s
  CHECK(t.on_event({{"type", "log"}, {"level", "info"}, {"message", "hi"}}, 106.0));
  CHECK_FALSE(t.on_event({{"type", "mystery"}}, 106.0));
  CHECK_FALSE(t.on_event(json::array(), 106.0));
  t.on_event({{"type", "state"}, {"state", "failed"}, {"error", "boom"}}, 107.0);
  CHECK(t.finished());
  CHECK(t.last_state()["error"] == "boom");
  CHECK(t.snapshot().eta_s < 0);
}

TEST_CASE("tracker ignores the timing of the history burst a stream starts with", "[progress]") {
  ProgressTracker t;
  t.on_event({{"type", "state"}, {"state", "running"}, {"progress", 0.2}}, 50.0);
  // Steps 1..20 replayed within a millisecond of connecting.
  for (int step = 1; step <= 20; ++step)
    t.on_event({{"type", "metric"}, {"step", step}, {"name", "loss"}, {"value", 1.0 / step}}, 50.0 + step * 1e-5);
  CHECK(t.snapshot().steps_per_s < 0);  // nothing measured yet
  // Live: one step per second from here.
  t.on_event({{"type", "metric"}, {"step", 21}, {"name", "loss"}, {"value", 0.04}}, 51.0);
  t.on_event({{"type", "progress"}, {"progress", 0.3}}, 51.0);
  t.on_event({{"type", "metric"}, {"step", 22}, {"name", "loss"}, {"value", 0.03}}, 52.0);
  t.on_event({{"type", "progress"}, {"progress", 0.4}}, 52.0);
  CHECK(t.snapshot().steps_per_s == Approx(1.0).epsilon(0.01));
  CHECK(t.snapshot().eta_s == Approx(6.0).epsilon(0.01));  // 0.1 per second, 0.6 left
}

TEST_CASE("ProgressBar redraws in place and prints log lines above the bar", "[progress]") {
  std::ostringstream os;
  ProgressBar bar(os, 41);
  ProgressSnapshot s;
  s.fraction = 0.5;
  bar.draw(s);
  bar.draw(s);  // unchanged: nothing written
  bar.print_line("[info] hello");
  s.fraction = 1.0;
  bar.draw(s);
  bar.finish();
  ProgressSnapshot at;
  at.fraction = 0.5;
  const std::string half = format_progress_line(at, 40);  // width - 1: no autowrap
  at.fraction = 1.0;
  const std::string full = format_progress_line(at, 40);
  CHECK(half == "[################.................]  50%");
  CHECK(full == "[#################################] 100%");
  CHECK(os.str() == "\r\033[K" + half + "\r\033[K[info] hello\n" + half + "\r\033[K" + full + "\n");
}

TEST_CASE("ProgressBar keeps the bar from growing back between redraws", "[progress]") {
  std::ostringstream os;
  ProgressBar bar(os, 61);
  ProgressSnapshot s;
  s.fraction = 0.5;
  s.step = 5;
  s.eta_s = 3725;  // "ETA 1h02m05s" takes room: the bar narrows
  bar.draw(s);
  const std::string first = os.str();
  s.eta_s = -1;  // the text shrinks; the bar keeps its width
  bar.draw(s);
  const std::string both = os.str();
  const std::string second = both.substr(first.size());
  auto bar_of = [](const std::string& drawn) { return drawn.substr(4, drawn.find(']') - 4 + 1); };
  CHECK(bar_of(first).size() == bar_of(second).size());
  CHECK(bar_of(first).size() < 42);
  CHECK(format_progress_line(s, 60, 12) == "[######......]  50% | step 5");
}

TEST_CASE("is_final_state", "[progress]") {
  CHECK(is_final_state("succeeded"));
  CHECK(is_final_state("failed"));
  CHECK(is_final_state("cancelled"));
  CHECK_FALSE(is_final_state("running"));
  CHECK_FALSE(is_final_state("queued"));
}
