// Integration: job lifecycle with the sleeper plugin (succeeded / failed / cancelled), metrics,
// event streams to concurrent watchers.
#include <thread>

#include <catch2/catch.hpp>

#include "fixture.h"

using namespace wbtest;

TEST_CASE("a sleep job runs to succeeded with progress, metrics and logs", "[daemon][jobs]") {
  DaemonFixture d;
  Reply r = d.post("/v1/jobs", {{"kind", "sleep"}, {"spec", {{"steps", 5}, {"step_ms", 5}}}});
  REQUIRE(r.status == 201);
  CHECK(r.body["state"] == "queued");
  CHECK(r.body["attempts"] == 0);
  std::int64_t id = r.body["id"];
  json j = d.wait_job(id, "succeeded");
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["progress"] == 1.0);
  CHECK(j["phase"] == "sleep");
  CHECK(j["error"].is_null());
  CHECK(j["started"].is_string());
  CHECK(j["finished"].is_string());
  CHECK_THAT(j["checkpoint"].get<std::string>(), Catch::EndsWith("jobs/" + std::to_string(id) + "/checkpoint.txt"));
  CHECK(j["metrics"]["loss"]["step"] == 5);
  CHECK(j["metrics"]["loss"]["value"] == Approx(0.2));

  Reply m = d.get("/v1/jobs/" + std::to_string(id) + "/metrics?name=loss");
  REQUIRE(m.status == 200);
  REQUIRE(m.body["metrics"].size() == 5);
  CHECK(m.body["metrics"][0]["step"] == 1);

  // follow=false: the stored history, ending with the final state.
  std::vector<json> lines;
  UnixHttp c(d.socket());
  c.stream("/v1/jobs/" + std::to_string(id) + "/events?follow=false", [&](const std::string& l) {
    lines.push_back(json::parse(l));
    return true;
  });
  REQUIRE(lines.size() >= 11);
  CHECK(lines.front()["type"] == "state");
  CHECK(lines.back()["type"] == "state");
  CHECK(lines.back()["state"] == "succeeded");

  Reply list = d.get("/v1/jobs?state=succeeded");
  CHECK(list.body["jobs"].size() == 1);
  CHECK(d.del("/v1/jobs/" + std::to_string(id)).status == 409);  // already finished
}

TEST_CASE("a failing job ends failed with the plugin's message", "[daemon][jobs]") {
  DaemonFixture d;
  std::int64_t id = d.submit_sleep({{"steps", 10}, {"step_ms", 1}, {"fail_at", 3}});
  json j = d.wait_job(id, "failed");
  REQUIRE(j["state"] == "failed");
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("failed at step 3"));
  CHECK(j["metrics"]["loss"]["step"] == 3);
}

TEST_CASE("cancel: a running job stops within a step, a queued job cancels at once", "[daemon][jobs]") {
  DaemonFixture d;
  std::int64_t running = d.submit_sleep({{"steps", 1000}, {"step_ms", 20}});
  std::int64_t queued = d.submit_sleep({{"steps", 1}, {"step_ms", 1}});
  REQUIRE(d.wait_job(running, "running")["state"] == "running");

  Reply q = d.del("/v1/jobs/" + std::to_string(queued));
  REQUIRE(q.status == 200);
  CHECK(q.body["state"] == "cancelled");

  Reply c = d.del("/v1/jobs/" + std::to_string(running));
  REQUIRE(c.status == 200);
  CHECK(c.body["cancel_requested"] == true);
  json j = d.wait_job(running, "cancelled", std::chrono::seconds(5));
  CHECK(j["state"] == "cancelled");
  CHECK(j["progress"].get<double>() < 1.0);
  CHECK(d.job(queued)["started"].is_null());
  CHECK(d.del("/v1/jobs/424242").status == 404);
}

TEST_CASE("unknown job kind is 422 at submission", "[daemon][jobs]") {
  DaemonFixture d;
  Reply r = d.post("/v1/jobs", {{"kind", "pretrain"}, {"spec", json::object()}});
  CHECK(r.status == 422);
  CHECK(r.body["error"]["code"] == "unsupported_job_kind");
  CHECK(d.get("/v1/jobs").body["jobs"].empty());
}

TEST_CASE("events stream to three concurrent watchers, each sees every event once, in order", "[daemon][jobs][events]") {
  DaemonFixture d;
  // A blocker keeps the slot busy so all watchers connect before the job of interest starts.
  std::int64_t blocker = d.submit_sleep({{"steps", 100000}, {"step_ms", 10}});
  std::int64_t id = d.submit_sleep({{"steps", 20}, {"step_ms", 5}});
  REQUIRE(d.wait_job(blocker, "running")["state"] == "running");

  std::vector<std::vector<json>> seen(3);
  std::vector<int> statuses(3, 0);
  std::vector<std::thread> watchers;
  for (int w = 0; w < 3; ++w)
    watchers.emplace_back([&, w] {
      UnixHttp c(d.socket());
      statuses[w] = c.stream("/v1/jobs/" + std::to_string(id) + "/events", [&](const std::string& l) {
        seen[w].push_back(json::parse(l));
        return true;
      });
    });
  // Wait until the three are subscribed, then let the job run.
  REQUIRE(eventually([&] {
    return to_reply(http(d.socket(), "GET", "/metrics")).text.find("workbench_event_watchers 3") != std::string::npos;
  }, std::chrono::seconds(10)));
  REQUIRE(d.del("/v1/jobs/" + std::to_string(blocker)).status == 200);
  for (auto& t : watchers) t.join();

  for (int w = 0; w < 3; ++w) {
    INFO("watcher " << w);
    CHECK(statuses[w] == 200);
    auto& ev = seen[w];
    REQUIRE(ev.size() > 3);
    CHECK(ev.front()["type"] == "state");
    CHECK(ev.front()["state"] == "queued");
    CHECK(ev.back()["type"] == "state");
    CHECK(ev.back()["state"] == "succeeded");
    int metrics = 0, progress = 0, logs = 0;
    std::int64_t last_step = 0;
    for (auto& e : ev) {
      if (e["type"] == "metric" && e["name"] == "loss") {
        ++metrics;
        CHECK(e["step"].get<std::int64_t>() == last_step + 1);  // no gap, no duplicate
        last_step = e["step"];
      }
      if (e["type"] == "progress") ++progress;
      if (e["type"] == "log") ++logs;
    }
    CHECK(metrics == 20);
    CHECK(progress == 20);
    CHECK(logs >= 20);
    CHECK(ev == seen[0]);
  }

  // A watcher connecting after the end gets the replayed history and the final state.
  std::vector<json> late;
  UnixHttp c(d.socket());
  c.stream("/v1/jobs/" + std::to_string(id) + "/events", [&](const std::string& l) {
    late.push_back(json::parse(l));
    return true;
  });
  REQUIRE(!late.empty());
  CHECK(late.back()["state"] == "succeeded");
  int metrics = 0;
  for (auto& e : late) metrics += e["type"] == "metric" && e["name"] == "loss";
  CHECK(metrics == 20);
  // The connection stays usable after a stream (keep-alive).
  CHECK(c.request("GET", "/v1/health").status == 200);
  CHECK(d.get("/v1/jobs/999/events").status == 404);
}
