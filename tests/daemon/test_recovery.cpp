// Integration: crash (kill -9) and SIGTERM during a running job; restart resumes it from its
// checkpoint; queued jobs survive; the SQLite file stays intact.
#include <fstream>
#include <set>

#include <catch2/catch.hpp>

#include "fixture.h"
#include "wb/storage/store.h"

using namespace wbtest;

static std::string integrity(const std::filesystem::path& data_dir) {
  wb::storage::Store s(data_dir / "workbench.db");
  return s.integrity_check();
}

TEST_CASE("kill -9 during a running job: restart resumes it from its checkpoint", "[daemon][recovery]") {
  DaemonFixture d;
  std::int64_t id = d.submit_sleep({{"steps", 200}, {"step_ms", 20}});
  std::int64_t q1 = d.submit_sleep({{"steps", 2}, {"step_ms", 1}});
  std::int64_t q2 = d.submit_sleep({{"steps", 3}, {"step_ms", 1}});
  REQUIRE(eventually([&] {
    json j = d.job(id);
    return j["progress"].get<double>() >= 0.2 && j["checkpoint"].is_string();
  }, std::chrono::seconds(20)));
  d.process.kill9();
  REQUIRE(std::filesystem::exists(d.process.socket()));  // stale socket left behind

  d.process.start();  // removes the stale socket, recovers the job
  json j = d.wait_job(id, "succeeded", std::chrono::seconds(30));
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["attempts"] == 1);
  REQUIRE(j["metrics"].contains("resumed_at"));
  double resumed = j["metrics"]["resumed_at"]["value"];
  CHECK(resumed >= 40);  // at least 20% of 200 steps were kept
  CHECK(resumed < 200);
  // The loss curve continues after the resume point: no step is missing.
  auto pts = d.get("/v1/jobs/" + std::to_string(id) + "/metrics?name=loss").body["metrics"];
  std::set<std::int64_t> steps;
  for (auto& p : pts) steps.insert(p["step"].get<std::int64_t>());
  CHECK(steps.size() == 200);
  bool logged = false;
  UnixHttp c(d.socket());
  c.stream("/v1/jobs/" + std::to_string(id) + "/events?follow=false", [&](const std::string& l) {
    json e = json::parse(l);
    if (e["type"] == "log" && e["message"].get<std::string>().find("resumed from step") != std::string::npos) logged = true;
    return true;
  });
  CHECK(logged);

  // The queued jobs were not lost.
  CHECK(d.wait_job(q1, "succeeded")["state"] == "succeeded");
  CHECK(d.wait_job(q2, "succeeded")["state"] == "succeeded");
  int rc = d.process.terminate();
  INFO(d.process.log_text());
  CHECK(rc == 0);
  CHECK(integrity(d.process.data_dir()) == "ok");
}

TEST_CASE("SIGTERM during a job: clean exit, job left queued with its checkpoint, resumed after restart", "[daemon][recovery]") {
  DaemonFixture d;
  std::int64_t id = d.submit_sleep({{"steps", 200}, {"step_ms", 20}});
  std::int64_t queued = d.submit_sleep({{"steps", 1}, {"step_ms", 1}});
  REQUIRE(eventually([&] { return d.job(id)["progress"].get<double>() >= 0.1; }, std::chrono::seconds(20)));
  auto t0 = std::chrono::steady_clock::now();
  CHECK(d.process.terminate() == 0);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
  CHECK_FALSE(std::filesystem::exists(d.process.socket()));
  CHECK_THAT(d.process.log_text(), Catch::Contains("interrupted for shutdown"));
  {
    wb::storage::Store s(d.process.data_dir() / "workbench.db");
    CHECK(s.integrity_check() == "ok");
    auto rec = s.jobs().get(id);
    CHECK(rec.state == wb::storage::JobState::Queued);
    CHECK(rec.attempts == 1);
    CHECK(rec.checkpoint.has_value());
    CHECK(s.jobs().get(queued).state == wb::storage::JobState::Queued);
  }
  d.process.start();
  json j = d.wait_job(id, "succeeded", std::chrono::seconds(30));
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["attempts"] == 1);
  CHECK(j["metrics"]["resumed_at"]["value"].get<double>() >= 20);
  CHECK(d.wait_job(queued, "succeeded")["state"] == "succeeded");
}

TEST_CASE("a stored job whose kind no plugin serves fails with a clear error", "[daemon][recovery]") {
  DaemonFixture d;
  std::int64_t blocker = d.submit_sleep({{"steps", 100000}, {"step_ms", 10}});
  std::int64_t orphan = d.submit_sleep({{"steps", 1}});
  REQUIRE(d.wait_job(blocker, "running")["state"] == "running");
  REQUIRE(d.process.terminate() == 0);

  // Restart without any plugin: both stored sleep jobs fail, naming the kind.
  DaemonProcess bare(d.process.data_dir(), d.process.socket(), {});
  bare.start();
  for (auto id : {blocker, orphan}) {
    json j;
    eventually([&] {
      j = to_reply(http(bare.socket().string(), "GET", "/v1/jobs/" + std::to_string(id))).body;
      return j["state"] == "failed";
    }, std::chrono::seconds(10));
    CHECK(j["state"] == "failed");
    CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("no loaded plugin runs job kind 'sleep'"));
  }
  int rc = bare.terminate();
  INFO(bare.log_text());
  CHECK(rc == 0);
}

TEST_CASE("a job resumed from an older checkpoint keeps one metric point per step", "[daemon][recovery][metrics]") {
  DaemonFixture d;
  // Checkpoints every 25 steps: a kill repeats up to 24 steps after the resume point.
  std::int64_t id = d.submit_sleep({{"steps", 120}, {"step_ms", 10}, {"checkpoint_every", 25}});
  REQUIRE(eventually([&] {
    json j = d.job(id);
    return j["checkpoint"].is_string() && j["progress"].get<double>() * 120 >= 35;  // past step 25, before 50
  }, std::chrono::seconds(20)));
  d.process.kill9();
  d.process.start();
  json j = d.wait_job(id, "succeeded", std::chrono::seconds(30));
  REQUIRE(j["state"] == "succeeded");
  const double resumed = j["metrics"]["resumed_at"]["value"];
  auto pts = d.get("/v1/jobs/" + std::to_string(id) + "/metrics?name=loss").body["metrics"];
  INFO("resumed at step " << resumed);
  CHECK(resumed < j["metrics"]["loss"]["step"].get<double>());
  std::set<std::int64_t> steps;
  for (auto& p : pts) steps.insert(p["step"].get<std::int64_t>());
  CHECK(steps.size() == 120);
  CHECK(pts.size() == 120);  // each repeated step replaced its earlier point
}

TEST_CASE("a zero-length or damaged workbench.db is refused at start naming the file", "[daemon][recovery]") {
  TempDir tmp;
  const auto data = tmp.path() / "data";
  std::filesystem::create_directories(data);
  {
    std::ofstream(data / "workbench.db", std::ios::binary);  // zero bytes
  }
  {
    DaemonProcess p(data, tmp.path() / "run/wb.sock", {test_plugin_dir()});
    CHECK(p.run_expecting_exit() != 0);
    CHECK_THAT(p.log_text(), Catch::Contains("workbench.db") && Catch::Contains("empty file (0 bytes)"));
    CHECK(std::filesystem::file_size(data / "workbench.db") == 0);  // left as found
  }
  std::filesystem::remove(data / "workbench.db");
  // A healthy database with a few thousand rows, then one of its table pages overwritten.
  {
    wb::storage::Store s(data / "workbench.db");
    auto job = s.jobs().create("sleep", json::object());
    std::vector<wb::storage::MetricPoint> pts;
    for (int i = 0; i < 5000; ++i) pts.push_back({i, "loss", 1.0 / (i + 1)});
    s.metrics().add_batch(job.id, pts);
  }
  {
    std::fstream f(data / "workbench.db", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const auto size = static_cast<std::int64_t>(f.tellg());
    REQUIRE(size > 16 * 4096);
    f.seekp(size / 2 / 4096 * 4096);  // the start of a page in the middle: its b-tree page header
    const std::string junk(64, '\x7f');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  DaemonProcess p(data, tmp.path() / "run/wb.sock", {test_plugin_dir()});
  CHECK(p.run_expecting_exit() != 0);
  CHECK_THAT(p.log_text(), Catch::Contains("workbench.db") && Catch::Contains("damaged (PRAGMA quick_check"));
}
