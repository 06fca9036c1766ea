#include "wb/cli/progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "wb/cli/output.h"

namespace wb::cli {

using nlohmann::json;

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string format_rate(double r) {
  return fmt(r < 10 ? "%.2f" : r < 100 ? "%.1f" : "%.0f", r) + " steps/s";
}

}  // namespace

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  long long t = std::llround(seconds);
  char buf[48];
  if (t < 60) {
    std::snprintf(buf, sizeof buf, "%llds", t);
  } else if (t < 3600) {
    std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%lldh%02lldm%02llds", t / 3600, (t / 60) % 60, t % 60);
  }
  return buf;
}

std::string format_progress_line(const ProgressSnapshot& s, int width, int max_bar) {
  std::string head;  // " 42% train" after the bar
  if (s.fraction >= 0) {
    head = fmt("%3.0f%%", std::floor(std::clamp(s.fraction, 0.0, 1.0) * 100.0));
  } else {
    head = "  -%";
  }
  const std::string label = !s.phase.empty() ? s.phase : s.state;
  if (!label.empty()) head += " " + label;

  std::vector<std::string> parts;
  if (s.step >= 0) parts.push_back("step " + std::to_string(s.step));
  if (s.steps_per_s >= 0) parts.push_back(format_rate(s.steps_per_s));
  if (s.eta_s >= 0) parts.push_back("ETA " + format_duration(s.eta_s));
  if (!s.metric_name.empty()) parts.push_back(s.metric_name + " " + fmt("%.4f", s.metric_value));

  constexpr int kMinBar = 8;
  const int kMaxBar = std::clamp(max_bar, kMinBar, 40);
  auto rest_of = [&](std::size_t n) {
    std::string r = " " + head;
    for (std::size_t i = 0; i < n; ++i) r += " | " + parts[i];
    return r;
  };
  std::size_t n = parts.size();
  // Drop trailing parts until the minimum bar fits.
  while (n > 0 && static_cast<int>(display_width(rest_of(n))) + kMinBar + 2 > width) --n;
  const std::string rest = rest_of(n);
  const int bar = std::clamp(width - 2 - static_cast<int>(display_width(rest)), kMinBar, kMaxBar);
  const int filled = s.fraction >= 0
                         ? static_cast<int>(std::floor(std::clamp(s.fraction, 0.0, 1.0) * bar))
                         : 0;
  std::string line = "[" + std::string(filled, '#') + std::string(bar - filled, '.') + "]" + rest;
  if (width > 0 && static_cast<int>(display_width(line)) > width)
    line = shorten(line, static_cast<std::size_t>(width));
  return line;
}

bool is_final_state(std::string_view state) {
  return state == "succeeded" || state == "failed" || state == "cancelled";
}

bool ProgressTracker::finished() const { return is_final_state(snap_.state); }

bool ProgressTracker::on_event(const json& ev, double now_s) {
  if (!ev.is_object()) return false;
  const std::string type = ev.value("type", "");
  auto take_progress = [&](const json& e) {
    auto it = e.find("progress");
    if (it == e.end() || !it->is_number()) return;
    const double f = it->get<double>();
    snap_.fraction = f;
    if (frac_t0_ < 0 || f < frac0_) {
      frac_first_t_ = frac_t0_ = now_s;
      frac0_ = f;
    } else if (now_s - frac_first_t_ < kBurstS) {
      frac_t0_ = now_s;  // still the burst the stream started with: move the baseline
      frac0_ = f;
    } else if (now_s > frac_t0_ && f > frac0_) {
      snap_.eta_s = f >= 1.0 ? 0.0 : (1.0 - f) * (now_s - frac_t0_) / (f - frac0_);
    }
  };
  auto take_phase = [&](const json& e) {
    auto it = e.find("phase");
    if (it != e.end() && it->is_string() && !it->get<std::string>().empty())
      snap_.phase = it->get<std::string>();
  };
  if (type == "state") {
    last_state_ = ev;
    if (ev.contains("state") && ev["state"].is_string()) snap_.state = ev["state"].get<std::string>();
    take_progress(ev);
    take_phase(ev);
    if (is_final_state(snap_.state)) snap_.eta_s = -1;
    return true;
  }
  if (type == "progress") {
    take_progress(ev);
    take_phase(ev);
    return true;
  }
  if (type == "metric") {
    if (ev.contains("step") && ev["step"].is_number_integer()) {
      const std::int64_t step = ev["step"].get<std::int64_t>();
      if (step > snap_.step) snap_.step = step;
      if (step_t0_ < 0) {
        step_first_t_ = step_t0_ = now_s;
        step0_ = step;
      } else if (now_s - step_first_t_ < kBurstS) {
        step_t0_ = now_s;  // still the burst the stream started with: move the baseline
        step0_ = snap_.step;
      } else if (now_s > step_t0_ && snap_.step > step0_) {
        snap_.steps_per_s = static_cast<double>(snap_.step - step0_) / (now_s - step_t0_);
      }
    }
    if (ev.contains("name") && ev["name"].is_string() && ev.contains("value") &&
        ev["value"].is_number()) {
      const std::string name = ev["name"].get<std::string>();
      const bool is_loss = name.find("loss") != std::string::npos;
      // Prefer a loss-like metric; any metric until one shows up.
      if (is_loss || !metric_is_loss_) {
        snap_.metric_name = name;
        snap_.metric_value = ev["value"].get<double>();
        metric_is_loss_ = is_loss;
      }
    }
    return true;
  }
  return type == "log";
}

void ProgressBar::draw(const ProgressSnapshot& s) {
  std::string line = format_progress_line(s, std::max(20, width_ - 1), bar_cells_);  // -1: no autowrap
  if (const auto close = line.find(']'); line.rfind('[', 0) == 0 && close != std::string::npos)
    bar_cells_ = std::min(bar_cells_, static_cast<int>(close) - 1);
  if (drawn_ && line == last_) return;
  last_ = std::move(line);
  os_ << "\r\033[K" << last_ << std::flush;
  drawn_ = true;
}

void ProgressBar::print_line(const std::string& line) {
  if (drawn_) os_ << "\r\033[K";
  os_ << line << '\n';
  if (drawn_) os_ << last_;
  os_ << std::flush;
}

void ProgressBar::finish() {
  if (drawn_) os_ << '\n' << std::flush;
  drawn_ = false;
}

int terminal_width(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    int v = std::atoi(c);
    if (v > 0) return v;
  }
  return 80;
}

}  // namespace wb::cli
