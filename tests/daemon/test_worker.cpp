// Jobs in worker processes (jobs.isolation = "process", the default): a plugin job that really
// segfaults, is SIGKILLed, exits non-zero, hangs without heartbeats (SIGSTOP) or ignores a cancel
// ends failed, re-queued, held or cancelled with a reason naming the cause, while the daemon keeps
// answering; a normal job runs in a process of its own and finishes as before.
#include <signal.h>

#include <fstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "fixture.h"

using namespace wbtest;

namespace {

std::int64_t submit_crash(DaemonFixture& d, const json& spec) {
  Reply r = d.post("/v1/jobs", {{"kind", "crash"}, {"spec", spec}});
  if (r.status != 201) throw std::runtime_error("submit failed: " + r.text);
  return r.body["id"].get<std::int64_t>();
}

// The job's stored log lines, joined.
std::string job_logs(DaemonFixture& d, std::int64_t id) {
  std::string text;
  UnixHttp c(d.socket());
  c.stream("/v1/jobs/" + std::to_string(id) + "/events?follow=false", [&](const std::string& l) {
    json e = json::parse(l, nullptr, false);
    if (e.is_object() && e.value("type", "") == "log") text += e.value("message", "") + "\n";
    return true;
  });
  return text;
}

// Waits for `state`, asking /v1/health between polls: the daemon answers throughout.
json wait_serving(DaemonFixture& d, std::int64_t id, const std::string& state,
                  std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  json last;
  int health_failures = 0;
  eventually([&] {
    if (d.get("/v1/health").status != 200) ++health_failures;
    last = d.job(id);
    return last.is_object() && last.value("state", "") == state;
  }, timeout);
  CHECK(health_failures == 0);
  return last;
}

// Whether `pid` is a live process (a zombie nobody reaped yet counts as gone).
bool process_exists(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

}  // namespace

TEST_CASE("a plugin job that segfaults fails naming the signal and the daemon keeps serving", "[daemon][worker]") {
  DaemonFixture d({crash_plugin_dir()}, true, "[jobs]\nmax_attempts = 1\n");
  const std::int64_t id = submit_crash(d, {{"steps", 3}, {"at", 1}, {"how", "segv"}});
  json j = wait_serving(d, id, "failed");
  INFO(j.dump());
  REQUIRE(j["state"] == "failed");
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("worker killed by signal 11 (SIGSEGV)") &&
                                                Catch::Contains("jobs.max_attempts = 1"));
  CHECK(j["crashes"] == 1);
  CHECK(j["checkpoint"].is_string());  // the step done before the crash was recorded
  CHECK(d.process.running());
  CHECK(d.get("/v1/health").status == 200);
  // A worker that exits non-zero is a crash too, and the next job runs normally.
  const std::int64_t bad_exit = submit_crash(d, {{"steps", 2}, {"at", 0}, {"how", "exit"}});
  j = wait_serving(d, bad_exit, "failed");
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("worker exited with status 3"));
  const std::int64_t ok = submit_crash(d, {{"steps", 2}, {"how", "none"}});
  CHECK(wait_serving(d, ok, "succeeded")["state"] == "succeeded");
  CHECK(d.process.terminate() == 0);
}

TEST_CASE("a job whose worker is SIGKILLed is re-queued and resumes from its last checkpoint", "[daemon][worker]") {
  DaemonFixture d({crash_plugin_dir()});
  const std::int64_t id = submit_crash(d, {{"steps", 4}, {"at", 2}, {"how", "sigkill"}, {"once", true}});
  json j = wait_serving(d, id, "succeeded");
  INFO(j.dump());
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["crashes"] == 1);
  CHECK(j["attempts"] == 1);
  CHECK(j["metrics"]["resumed_at"]["value"] == 2);  // the checkpoint after step 2
  CHECK(j["metrics"]["step"]["value"] == 4);
  const std::string logs = job_logs(d, id);
  CHECK_THAT(logs, Catch::Contains("worker killed by signal 9 (SIGKILL)") &&
                       Catch::Contains("re-queued to resume from checkpoint"));
}

TEST_CASE("a job whose worker dies on every run is held after two in a row, as a daemon crash loop is", "[daemon][worker]") {
  DaemonFixture d({crash_plugin_dir()});
  const std::int64_t id = submit_crash(d, {{"steps", 3}, {"at", 1}, {"how", "sigkill"}});
  json j = wait_serving(d, id, "held");
  INFO(j.dump());
  REQUIRE(j["state"] == "held");
  CHECK(j["crashes"] == 2);
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("worker killed by signal 9 (SIGKILL)") &&
                                                Catch::Contains("twice in a row") &&
                                                Catch::Contains("wb job retry " + std::to_string(id)));
  // Released by a person: the third death reaches jobs.max_attempts = 3.
  REQUIRE(d.post("/v1/jobs/" + std::to_string(id) + "/retry", json::object()).status == 200);
  j = wait_serving(d, id, "failed");
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("3 times") && Catch::Contains("jobs.max_attempts = 3"));
}

TEST_CASE("a worker that hangs without heartbeats is killed and its job fails with the reason", "[daemon][worker]") {
  DaemonFixture d({crash_plugin_dir()}, true,
                  "[jobs]\nmax_attempts = 1\nheartbeat_timeout_s = 2\nstop_grace_s = 0.5\n");
  const std::int64_t id = submit_crash(d, {{"steps", 3}, {"at", 1}, {"how", "stop"}});
  // While the worker is stopped the daemon answers.
  json pid_metric;
  REQUIRE(eventually([&] {
    pid_metric = d.job(id)["metrics"]["pid"];
    return pid_metric.is_object();
  }, std::chrono::seconds(10)));
  const auto worker = static_cast<pid_t>(pid_metric["value"].get<double>());
  json j = wait_serving(d, id, "failed");
  INFO(j.dump());
  REQUIRE(j["state"] == "failed");
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("sent no heartbeat for 2 s") &&
                                                Catch::Contains("signal 9 (SIGKILL)"));
  CHECK_FALSE(process_exists(worker));
  CHECK(d.get("/v1/health").status == 200);
}

TEST_CASE("cancel reaches the worker, and a worker that ignores it is stopped with SIGTERM", "[daemon][worker]") {
  DaemonFixture d({crash_plugin_dir()}, true, "[jobs]\nstop_grace_s = 0.5\n");
  // A plugin that checks job_cancelled(): the cancel message stops it within a step.
  const std::int64_t polite = submit_crash(d, {{"steps", 1000}, {"step_ms", 20}, {"how", "none"}});
  REQUIRE(eventually([&] { return d.job(polite)["progress"].get<double>() > 0; }, std::chrono::seconds(10)));
  REQUIRE(d.del("/v1/jobs/" + std::to_string(polite)).status == 200);
  CHECK(wait_serving(d, polite, "cancelled", std::chrono::seconds(5))["state"] == "cancelled");
  // One that never looks: SIGTERM after jobs.stop_grace_s.
  const std::int64_t deaf = submit_crash(d, {{"steps", 3}, {"at", 1}, {"how", "ignore_cancel"}});
  REQUIRE(eventually([&] { return d.job(deaf)["progress"].get<double>() > 0; }, std::chrono::seconds(10)));
  REQUIRE(d.del("/v1/jobs/" + std::to_string(deaf)).status == 200);
  json j = wait_serving(d, deaf, "cancelled", std::chrono::seconds(10));
  REQUIRE(j["state"] == "cancelled");
  CHECK_THAT(job_logs(d, deaf), Catch::Contains("signal 15 (SIGTERM)"));
}

TEST_CASE("a job runs in a worker process by default, in the daemon with jobs.isolation = in_process", "[daemon][worker]") {
  for (const std::string isolation : {"process", "in_process"}) {
    DYNAMIC_SECTION(isolation) {
      DaemonFixture d({crash_plugin_dir()}, true, "[jobs]\nisolation = \"" + isolation + "\"\n");
      const std::int64_t id = submit_crash(d, {{"steps", 2}, {"how", "none"}});
      json j = d.wait_job(id, "succeeded");
      REQUIRE(j["state"] == "succeeded");
      CHECK(j["metrics"]["step"]["value"] == 2);
      CHECK(j["progress"] == 1.0);
      const auto pid = static_cast<pid_t>(j["metrics"]["pid"]["value"].get<double>());
      if (isolation == "process") {
        CHECK(pid != d.process.pid());
        CHECK_FALSE(process_exists(pid));  // the worker is gone with its job
      } else {
        CHECK(pid == d.process.pid());
      }
    }
  }
}

TEST_CASE("a worker dies with its daemon, and the restarted daemon resumes the job", "[daemon][worker][recovery]") {
  DaemonFixture d({crash_plugin_dir()});
  const std::int64_t id = submit_crash(d, {{"steps", 200}, {"step_ms", 20}, {"how", "none"}});
  json pid_metric;
  REQUIRE(eventually([&] {
    json j = d.job(id);
    pid_metric = j["metrics"]["pid"];
    return pid_metric.is_object() && j["checkpoint"].is_string();
  }, std::chrono::seconds(10)));
  const auto worker = static_cast<pid_t>(pid_metric["value"].get<double>());
  d.process.kill9();
  CHECK(eventually([&] { return !process_exists(worker); }, std::chrono::seconds(5)));
  d.process.start();
  json j = d.wait_job(id, "succeeded", std::chrono::seconds(30));
  CHECK(j["state"] == "succeeded");
  CHECK(j["metrics"]["resumed_at"]["value"].get<double>() > 0);
}
