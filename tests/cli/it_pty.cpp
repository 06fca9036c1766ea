// Integration: `wb job logs --follow` inside a real pseudo-terminal (forkpty) draws the progress
// bar in place ("\r" + erase-line) with step, rate, ETA and the loss, and prints log lines above it.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness.h"
#include "pty_session.h"

using nlohmann::json;
using namespace wbtest;

namespace {

struct PtyResult {
  int exit_code = -1;
  std::string out;  // everything the terminal received
};

// Runs argv on a new pseudo-terminal of the given width; returns its output and exit code.
PtyResult run_in_pty(const std::vector<std::string>& argv, unsigned short cols) {
  PtySession s(argv, cols, 24);
  PtyResult r;
  r.exit_code = s.wait_exit(std::chrono::seconds(60));
  r.out = s.output();
  return r;
}

}  // namespace

TEST_CASE("wb job logs --follow on a terminal draws a progress bar", "[cli][integration][pty]") {
  TempDir tmp;
  Daemon d(tmp.path(), {WB_TEST_PLUGIN_DIR});
  // 40 steps of 50 ms: two seconds, long enough for several redraws with a measured rate.
  ProcResult sub = wb(d.socket(), {"--json", "job", "submit", "sleep", "--set", "steps=40", "--set", "step_ms=50"});
  REQUIRE(sub.exit_code == 0);
  const std::string id = std::to_string(json::parse(sub.out)["id"].get<int>());

  const unsigned short cols = 100;
  PtyResult r = run_in_pty({wb_binary(), "--socket", d.socket(), "job", "logs", id, "--follow"}, cols);
  INFO("terminal output:\n" << r.out << "\ndaemon:\n" << d.log());
  CHECK(r.exit_code == 0);

  // Redrawn in place: carriage return + erase line, then the bar.
  CHECK(r.out.find("\r\033[K[") != std::string::npos);
  CHECK(r.out.find("% sleep | step ") != std::string::npos);
  CHECK(r.out.find(" steps/s") != std::string::npos);
  CHECK(r.out.find("ETA ") != std::string::npos);
  CHECK(r.out.find("| loss 0.") != std::string::npos);
  // The last bar shows completion and stays on screen; log and state lines appear as lines.
  CHECK(r.out.find("] 100% sleep | step 40 | ") != std::string::npos);
  CHECK(r.out.find("[info] step 40/40") != std::string::npos);
  CHECK(r.out.find("state: succeeded") != std::string::npos);
  // Every drawn bar fits the terminal (one column spare so it never wraps).
  std::size_t pos = 0;
  int bars = 0;
  while ((pos = r.out.find("\r\033[K[", pos)) != std::string::npos) {
    pos += 4;  // past "\r\033[K"
    const std::size_t end = r.out.find_first_of("\r\n", pos);
    const std::string bar = r.out.substr(pos, end - pos);
    CHECK(bar.size() <= cols - 1u);
    ++bars;
  }
  CHECK(bars >= 5);
}
