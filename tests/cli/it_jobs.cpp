// Integration: wb job submit/show/cancel/logs and wb jobs, against the real workbenchd running
// the daemon tests' sleeper plugin (job kind "sleep": spec {"steps","step_ms","fail_at"?}; each
// step reports progress, metric "loss" and a log line).
#include <catch2/catch.hpp>

#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "harness.h"

using nlohmann::json;
using namespace wbtest;

namespace {

bool has(const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; }

std::vector<json> ndjson(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    INFO("line: " << line);
    json j = json::parse(line, nullptr, false);
    REQUIRE_FALSE(j.is_discarded());
    out.push_back(std::move(j));
  }
  return out;
}

std::int64_t submit(const Daemon& d, std::vector<std::string> args) {
  args.insert(args.begin(), {"--json", "job", "submit", "sleep"});
  ProcResult r = wb(d.socket(), args);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return json::parse(r.out)["id"].get<std::int64_t>();
}

}  // namespace

TEST_CASE("wb job submit --follow runs a job to success and show/logs/jobs report it", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path(), {WB_TEST_PLUGIN_DIR});

  ProcResult r = wb(d.socket(), {"job", "submit", "sleep", "--set", "steps=3", "--set", "step_ms=5", "--follow"});
  INFO(r.out << r.err << d.log());
  REQUIRE(r.exit_code == 0);
  CHECK(has(r.out, "submitted job 1 (sleep), state queued\n"));
  CHECK(has(r.out, "[info] step 3/3\n"));
  CHECK(has(r.out, "step 3 loss=0.333333\n"));
  CHECK(has(r.out, "progress: 100% sleep\n"));
  CHECK(r.out.substr(r.out.size() - 17) == "state: succeeded\n");

  r = wb(d.socket(), {"job", "show", "1"});
  REQUIRE(r.exit_code == 0);
  CHECK(has(r.out, "state:      succeeded\n"));
  CHECK(has(r.out, "progress:   100%\n"));
  CHECK(has(r.out, "spec:       {\"step_ms\":5,\"steps\":3}\n"));
  // The job's metrics, the worker's memory (docs/PLUGINS.md) among them, in a table whose first
  // column is as wide as the longest name.
  CHECK(has(r.out, "METRIC                  STEP  VALUE\nloss                    3     "));
  CHECK(has(r.out, "\nworker_peak_rss_bytes   0     "));

  // History without --follow: plain lines, exit 0.
  r = wb(d.socket(), {"job", "logs", "1"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("state: succeeded\n", 0) == 0);
  CHECK(has(r.out, "[info] step 1/3\n"));
  CHECK(has(r.out, "step 2 loss=0.5\n"));

  // --follow on a finished job returns at once with the job's outcome.
  r = wb(d.socket(), {"job", "logs", "1", "--follow"});
  CHECK(r.exit_code == 0);

  // --json: every line is an event; the last one is the final state.
  r = wb(d.socket(), {"--json", "job", "logs", "1"});
  REQUIRE(r.exit_code == 0);
  auto events = ndjson(r.out);
  REQUIRE(events.size() >= 2);
  CHECK(events.back()["type"] == "state");
  CHECK(events.back()["state"] == "succeeded");

  r = wb(d.socket(), {"jobs", "--state", "succeeded"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("ID  KIND   STATE      PROGRESS", 0) == 0);
  CHECK(has(r.out, "\n1   sleep  succeeded  100%"));
  r = wb(d.socket(), {"jobs", "--state", "failed"});
  CHECK(r.out == "no failed jobs\n");
}

TEST_CASE("wb job submit --json --follow prints NDJSON with the record first and then the events", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path(), {WB_TEST_PLUGIN_DIR});
  ProcResult r = wb(d.socket(), {"--json", "job", "submit", "sleep", "--set", "steps=2", "--set", "step_ms=1", "--follow"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  auto lines = ndjson(r.out);
  REQUIRE(lines.size() >= 3);
  CHECK(lines.front()["id"] == 1);
  CHECK(lines.front()["kind"] == "sleep");
  CHECK(lines.back()["type"] == "state");
  CHECK(lines.back()["state"] == "succeeded");
}

TEST_CASE("wb job follow exits 1 for a failed job and for a cancelled one", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path(), {WB_TEST_PLUGIN_DIR});

  ProcResult r = wb(d.socket(), {"job", "submit", "sleep", "--set", "steps=5", "--set", "step_ms=1", "--set", "fail_at=2",
                                 "--follow"});
  INFO(r.out << r.err << d.log());
  CHECK(r.exit_code == 1);
  CHECK(has(r.out, "state: failed (error: "));

  // A long job: cancel it while it runs, then follow it to its end.
  const std::int64_t id = submit(d, {"--set", "steps=100000", "--set", "step_ms=20"});
  r = wb(d.socket(), {"job", "cancel", std::to_string(id)});
  REQUIRE(r.exit_code == 0);
  CHECK((has(r.out, "cancel requested for job " + std::to_string(id)) ||
         r.out == "job " + std::to_string(id) + " cancelled\n"));
  r = wb(d.socket(), {"job", "logs", std::to_string(id), "--follow"});
  CHECK(r.exit_code == 1);
  CHECK(has(r.out, "state: cancelled"));
  // --json show and cancel print the daemon's records.
  const std::int64_t id2 = submit(d, {"--set", "steps=100000", "--set", "step_ms=20"});
  r = wb(d.socket(), {"--json", "job", "cancel", std::to_string(id2)});
  REQUIRE(r.exit_code == 0);
  json cancelled = json::parse(r.out);
  CHECK(cancelled["id"] == id2);
  CHECK((cancelled["state"] == "cancelled" || cancelled["cancel_requested"] == true));
  CHECK(wb(d.socket(), {"job", "logs", std::to_string(id2), "--follow"}).exit_code == 1);
  r = wb(d.socket(), {"--json", "job", "show", std::to_string(id2)});
  REQUIRE(r.exit_code == 0);
  json shown = json::parse(r.out);
  CHECK(shown["state"] == "cancelled");
  CHECK(shown["metrics"].is_object());
  // Cancelling a finished job is the daemon's conflict: exit 1 with its message.
  r = wb(d.socket(), {"job", "cancel", std::to_string(id)});
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("wb: ", 0) == 0);
  CHECK(r.err.size() > 5);
}

TEST_CASE("wb job submit --spec file with --set overrides and bad specs reported", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path(), {WB_TEST_PLUGIN_DIR});
  write_file(tmp.path() / "spec.json", R"({"steps": 2, "step_ms": 50})");
  ProcResult r = wb(d.socket(), {"--json", "job", "submit", "sleep", "--spec", (tmp.path() / "spec.json").string(),
                                 "--set", "step_ms=0", "--priority", "5"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  json rec = json::parse(r.out);
  CHECK(rec["spec"] == json({{"steps", 2}, {"step_ms", 0}}));

  // The plugin's validate() rejects an unknown field: exit 1 with its message.
  r = wb(d.socket(), {"job", "submit", "sleep", "--set", "steps=1", "--set", "bogus=1"});
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "field 'spec.bogus'"));
  // --set values are JSON when they parse: "steps=\"3\"" is a string, which the plugin rejects.
  r = wb(d.socket(), {"job", "submit", "sleep", "--set", "steps=\"3\""});
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "field 'spec.steps': expected an integer"));

  write_file(tmp.path() / "bad.json", "{\"steps\": 2,");
  r = wb(d.socket(), {"job", "submit", "sleep", "--spec", (tmp.path() / "bad.json").string()});
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "bad.json' is not valid JSON"));
  r = wb(d.socket(), {"job", "submit", "sleep", "--spec", (tmp.path() / "missing.json").string()});
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "missing.json"));
  write_file(tmp.path() / "array.json", "[1,2]");
  r = wb(d.socket(), {"job", "submit", "sleep", "--spec", (tmp.path() / "array.json").string()});
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "must hold a JSON object"));
}

TEST_CASE("wb job logs --follow exits 1 with a message when the daemon goes away", "[cli][integration]") {
  TempDir tmp;
  Daemon d(tmp.path(), {WB_TEST_PLUGIN_DIR});
  const std::int64_t id = submit(d, {"--set", "steps=100000", "--set", "step_ms=20"});
  ProcResult r;
  std::thread follower([&] { r = wb(d.socket(), {"job", "logs", std::to_string(id), "--follow"}); });
  // Let the follower attach and see a few steps, then stop the daemon under it.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  d.stop();
  follower.join();
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK(r.err.rfind("wb: ", 0) == 0);
  CHECK(has(r.err, "workbenchd"));
  CHECK(has(r.out, "[info] step 1/100000\n"));
}

TEST_CASE("wb job logs --follow stops at a held job, wb jobs --state held lists it, wb job retry releases it", "[cli][integration]") {
  TempDir tmp;
  DaemonProcess p(tmp.path() / "data", tmp.path() / "run/wb.sock", {fill_plugin_dir()});
  // Files may not grow past 6 MiB: the 7th checkpoint (7 MiB) meets the limit and the job is held.
  p.limit_file_size(6u << 20);
  p.start();
  const std::string sock = p.socket().string();
  ProcResult r = wb(sock, {"--json", "job", "submit", "fill", "--set", "steps=10", "--set", "checkpoint_kib=1024"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const std::string id = std::to_string(json::parse(r.out)["id"].get<std::int64_t>());
  r = wb(sock, {"job", "logs", id, "--follow"});
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "job " + id + " is held: disk full"));
  r = wb(sock, {"jobs", "--state", "held"});
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "held"));
  r = wb(sock, {"job", "show", id});
  CHECK(has(r.out, "wb job retry " + id));
  // Space again: the daemon restarts without the limit; retry resumes the job to its end.
  CHECK(p.terminate() == 0);
  p.limit_file_size(0);
  p.start();
  r = wb(sock, {"job", "retry", id});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(has(r.out, "job " + id + " queued"));
  r = wb(sock, {"job", "logs", id, "--follow"});
  CHECK(r.exit_code == 0);
  // A job that is not held cannot be retried.
  r = wb(sock, {"job", "retry", id});
  CHECK(r.exit_code == 1);
  CHECK(has(r.err, "only a held job can be retried"));
}
