// Jobs that must not take the daemon down: a memory estimate refused at submission, a job that
// kills the daemon every run (resumed once, then held), a checkpoint that meets a full disk (held,
// resumed by a person's retry once space is back).
#include <csignal>
#include <thread>

#include <catch2/catch.hpp>

#include "fixture.h"

using namespace wbtest;

namespace {

json fill_job(DaemonFixture& d, const json& spec) {
  return d.post("/v1/jobs", {{"kind", "fill"}, {"spec", spec}}).body;
}

}  // namespace

TEST_CASE("a job whose memory estimate exceeds jobs.max_job_memory is refused naming both numbers", "[daemon][jobs][limits]") {
  DaemonFixture d({fill_plugin_dir()}, true, "[jobs]\nmax_job_memory = 1048576\n");
  Reply r = d.post("/v1/jobs", {{"kind", "fill"}, {"spec", {{"steps", 1}, {"need_bytes", 3u << 20}}}});
  INFO(r.text);
  CHECK(r.status == 507);
  CHECK(r.body["error"]["code"] == "out_of_memory");
  const std::string msg = r.body["error"]["message"];
  CHECK_THAT(msg, Catch::Contains("3.0 MiB") && Catch::Contains("3145728 bytes") && Catch::Contains("activations") &&
                      Catch::Contains("jobs.max_job_memory allows 1.0 MiB"));
  CHECK(d.get("/v1/jobs").body["jobs"].empty());  // nothing stored
  // Within the cap: accepted.
  CHECK(d.post("/v1/jobs", {{"kind", "fill"}, {"spec", {{"steps", 1}, {"need_bytes", 1000}}}}).status == 201);
}

TEST_CASE("a job whose memory estimate exceeds what the machine has is refused", "[daemon][jobs][limits]") {
  DaemonFixture d({fill_plugin_dir()});
  Reply r = d.post("/v1/jobs", {{"kind", "fill"}, {"spec", {{"steps", 1}, {"need_bytes", std::uint64_t(1) << 50}}}});
  INFO(r.text);
  CHECK(r.status == 507);
  CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains("1048576.0 GiB") &&
                                                              (Catch::Contains("MemAvailable") || Catch::Contains("cgroup")));
}

TEST_CASE("a job that kills the daemon at every run is resumed once, then held, and released by retry", "[daemon][jobs][recovery]") {
  // In the daemon's own process: only there does the plugin's abort() take the daemon down (in a
  // worker it is a worker crash, test_worker.cpp).
  DaemonFixture d({test_plugin_dir()}, true, "[jobs]\nisolation = \"in_process\"\n");
  const std::int64_t id = d.submit_sleep({{"steps", 50}, {"step_ms", 100}, {"abort_at", 3}});
  const std::string path = "/v1/jobs/" + std::to_string(id);
  // The job aborts the daemon process.
  REQUIRE(d.process.wait_for_exit(std::chrono::seconds(20)) == -SIGABRT);
  // Restart: the job resumes at once and kills the daemon again (possibly before start() has
  // seen it answer).
  auto restart_into_crash = [&] {
    try {
      d.process.start();
    } catch (const std::exception& e) {
      INFO(e.what());
      CHECK_THAT(e.what(), Catch::Contains("exited during start-up"));
      return;
    }
    REQUIRE(d.process.wait_for_exit(std::chrono::seconds(20)) == -SIGABRT);
  };
  restart_into_crash();
  // Second restart: held for a person, not run again.
  d.process.start();
  json j = d.job(id);
  CHECK(j["state"] == "held");
  CHECK(j["crashes"] == 2);
  CHECK(j["checkpoint"].is_string());
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("twice in a row") && Catch::Contains("wb job retry"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(d.get("/v1/health").status == 200);  // still up: the held job was not started
  CHECK(d.get("/v1/jobs?state=held").body["jobs"].size() == 1);
  // Other jobs run meanwhile.
  const std::int64_t other = d.submit_sleep({{"steps", 2}, {"step_ms", 1}});
  CHECK(d.wait_job(other, "succeeded")["state"] == "succeeded");
  // Only a held job can be retried.
  CHECK(d.post("/v1/jobs/" + std::to_string(other) + "/retry", json::object()).status == 409);
  CHECK(d.post("/v1/jobs/999/retry", json::object()).status == 404);
  // Released: it runs (and kills the daemon a third time), which reaches jobs.max_attempts = 3.
  Reply r = d.post(path + "/retry", json::object());
  INFO(r.text);
  REQUIRE(r.status == 200);
  CHECK(r.body["state"] == "queued");
  REQUIRE(d.process.wait_for_exit(std::chrono::seconds(20)) == -SIGABRT);
  d.process.start();
  j = d.job(id);
  CHECK(j["state"] == "failed");
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("3 times") && Catch::Contains("jobs.max_attempts = 3"));
  CHECK(d.process.terminate() == 0);
}

TEST_CASE("a checkpoint that meets a full disk holds the job with its last good checkpoint, retry resumes it", "[daemon][jobs][disk]") {
  DaemonFixture d({fill_plugin_dir()}, /*start=*/false);
  // Files may not grow past 6 MiB: the 7th checkpoint (7 MiB) fails with EFBIG, as a full disk
  // fails with ENOSPC.
  d.process.limit_file_size(6u << 20);
  d.process.start();
  Reply sub = d.post("/v1/jobs", {{"kind", "fill"}, {"spec", {{"steps", 10}, {"checkpoint_kib", 1024}}}});
  REQUIRE(sub.status == 201);
  const std::int64_t id = sub.body["id"];
  json j = d.wait_job(id, "held", std::chrono::seconds(30));
  INFO(j.dump());
  REQUIRE(j["state"] == "held");
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("disk full") && Catch::Contains("last good checkpoint") &&
                                                Catch::Contains("wb job retry " + std::to_string(id)));
  REQUIRE(j["checkpoint"].is_string());
  const std::filesystem::path ckpt = j["checkpoint"].get<std::string>();
  CHECK(std::filesystem::file_size(ckpt) == 6u << 20);  // the last good one, whole
  CHECK_FALSE(std::filesystem::exists(ckpt.parent_path() / "checkpoint.tmp"));
  CHECK(d.get("/v1/health").status == 200);
  // Space is back (the daemon restarted without the limit); a held job stays held across it.
  CHECK(d.process.terminate() == 0);
  d.process.limit_file_size(0);
  d.process.start();
  CHECK(d.job(id)["state"] == "held");
  REQUIRE(d.post("/v1/jobs/" + std::to_string(id) + "/retry", json::object()).status == 200);
  j = d.wait_job(id, "succeeded", std::chrono::seconds(30));
  CHECK(j["state"] == "succeeded");
  CHECK(j["metrics"]["resumed_at"]["value"] == 6);
  CHECK(std::filesystem::file_size(ckpt) == 10u << 20);
}
