// Integration: `wb status` against the real workbenchd with the daemon tests' plugins: the
// sleeper (loaded) and the bad ones (errors reported, daemon still serving).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "harness.h"

using nlohmann::json;
using namespace wbtest;

TEST_CASE("wb status shows the daemon and its plugins including ones that failed to load", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path(), {WB_TEST_PLUGIN_DIR, WB_BAD_PLUGIN_DIR});
  ProcResult r = wb(d.socket(), {"status"});
  INFO(r.out << r.err << d.log());
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("workbenchd 0.1.0 (pid ", 0) == 0);
  CHECK(r.out.find("\nsocket:   " + d.socket() + "\n") != std::string::npos);
  // Which config file the daemon read and which socket this wb uses (and why); serving in words.
  CHECK(r.out.find("\nconfig:   ") != std::string::npos);
  CHECK(r.out.find("\nwb uses:  " + d.socket() + " (--socket)\n") != std::string::npos);
  CHECK(r.out.find("\nserving:  none\n") != std::string::npos);
  CHECK(r.out.find("\njobs:     queued 0, running 0, held 0, succeeded 0, failed 0, cancelled 0\n") != std::string::npos);
  CHECK(r.out.find("\nPLUGIN ") != std::string::npos);
  CHECK(r.out.find("\nsleeper ") != std::string::npos);
  CHECK(r.out.find("loaded") != std::string::npos);
  CHECK(r.out.find("error: ") != std::string::npos);
  CHECK(r.out.find("failing_init refuses to start (test plugin)") != std::string::npos);

  // After a job, the counts move.
  REQUIRE(wb(d.socket(), {"job", "submit", "sleep", "--set", "steps=1", "--set", "step_ms=0", "--follow"}).exit_code == 0);
  json st = json::parse(wb(d.socket(), {"--json", "status"}).out);
  CHECK(st["jobs"]["succeeded"] == 1);
  bool saw_error = false;
  for (const auto& p : st["plugins"]) saw_error |= p["status"] == "error";
  CHECK(saw_error);
}
