#include "wb/cli/job_follow.h"

#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>

#include "wb/cli/errors.h"
#include "wb/cli/output.h"
#include "wb/cli/plain_events.h"
#include "wb/cli/progress.h"

namespace wb::cli {
namespace {

using nlohmann::json;

double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

std::string state_line(const json& ev) {
  std::string s = "state: " + cell(ev, "state");
  if (ev.contains("error") && ev["error"].is_string() && !ev["error"].get<std::string>().empty())
    s += " (error: " + ev["error"].get<std::string>() + ")";
  return s;
}

std::string log_line(const json& ev) {
  return "[" + cell(ev, "level") + "] " + cell(ev, "message");
}

}  // namespace

FollowStyle follow_style(const Context& ctx) {
  if (ctx.opts.json) return FollowStyle::kJson;
  return ctx.out == &std::cout && ::isatty(STDOUT_FILENO) ? FollowStyle::kTerminal
                                                          : FollowStyle::kPlain;
}

int follow_job(const Context& ctx, std::int64_t job_id, bool follow) {
  const FollowStyle style = follow_style(ctx);
  std::ostream& os = *ctx.out;
  ProgressTracker tracker;
  PlainEventPrinter plain(os);
  std::optional<ProgressBar> bar;
  if (style == FollowStyle::kTerminal) bar.emplace(os, terminal_width(STDOUT_FILENO));

  std::optional<std::string> held;  // the reason, once a state event says held
  std::string target = "/v1/jobs/" + std::to_string(job_id) + "/events";
  if (!follow) target += "?follow=false";
  ctx.client().stream_lines(target, [&](std::string_view line) {
    if (line.empty()) return true;
    const json ev = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (ev.is_discarded())
      throw Error("workbenchd sent an event that is not JSON: " + shorten(line, 120));
    tracker.on_event(ev, now_s());
    switch (style) {
      case FollowStyle::kJson:
        os << line << '\n' << std::flush;
        break;
      case FollowStyle::kPlain:
        plain.on_event(ev);
        break;
      case FollowStyle::kTerminal: {
        const std::string type = ev.value("type", "");
        if (type == "log") bar->print_line(log_line(ev));
        if (type == "state") bar->print_line(state_line(ev));
        bar->draw(tracker.snapshot());
        break;
      }
    }
    // A held job waits for a person (wb job retry): following it would never end.
    if (follow && ev.value("type", "") == "state" && ev.value("state", "") == "held") {
      held = ev.value("error", json()).is_string() ? ev["error"].get<std::string>() : "held";
      return false;
    }
    // Read to the end: the daemon ends the stream after the final state. (For a job already
    // final at connect, the state comes first, then the stored history, then the state again.)
    return true;
  });
  if (bar) bar->finish();
  if (style == FollowStyle::kPlain) plain.finish();

  if (!follow) return kExitOk;
  if (held)
    throw Error("job " + std::to_string(job_id) + " is held: " + *held);
  if (!tracker.finished())
    throw Error("the event stream of job " + std::to_string(job_id) +
                " ended before the job finished (did workbenchd stop?)");
  return tracker.snapshot().state == "succeeded" ? kExitOk : kExitError;
}

}  // namespace wb::cli
