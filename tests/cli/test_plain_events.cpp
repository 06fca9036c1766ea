// The plain (non-terminal) presentation of a job's events (plain_events.h).
#include <catch2/catch.hpp>

#include <sstream>

#include "wb/cli/plain_events.h"

using nlohmann::json;
using wb::cli::PlainEventPrinter;

namespace {
json metric(int step, const char* name, double value) {
  return {{"type", "metric"}, {"step", step}, {"name", name}, {"value", value}};
}
}  // namespace

TEST_CASE("plain events: the metrics of one step share one line", "[follow]") {
  std::ostringstream os;
  PlainEventPrinter p(os);
  p.on_event({{"type", "state"}, {"state", "running"}});
  p.on_event(metric(10, "train_loss", 1.5));
  p.on_event(metric(10, "lr", 0.003));
  p.on_event(metric(20, "train_loss", 1.25));
  CHECK(os.str() == "state: running\nstep 10 train_loss=1.5 lr=0.003\n");
  p.on_event({{"type", "log"}, {"level", "info"}, {"message", "saved"}});
  p.on_event(metric(20, "eval_loss", 1.75));
  p.on_event({{"type", "state"}, {"state", "succeeded"}});
  CHECK(os.str() ==
        "state: running\nstep 10 train_loss=1.5 lr=0.003\nstep 20 train_loss=1.25\n[info] saved\n"
        "step 20 eval_loss=1.75\nstate: succeeded\n");
}

TEST_CASE("plain events: finish prints what is gathered, progress every 5 points", "[follow]") {
  std::ostringstream os;
  PlainEventPrinter p(os);
  p.on_event({{"type", "progress"}, {"progress", 0.01}, {"phase", "train"}});
  p.on_event({{"type", "progress"}, {"progress", 0.03}, {"phase", "train"}});
  p.on_event({{"type", "progress"}, {"progress", 0.06}, {"phase", "train"}});
  p.on_event(metric(3, "loss", 0.5));
  p.on_event({{"type", "something-new"}});
  CHECK(os.str() == "progress: 1% train\nprogress: 6% train\n");
  p.finish();
  CHECK(os.str() == "progress: 1% train\nprogress: 6% train\nstep 3 loss=0.5\n");
}
