// Integration: a large dataset import is written in short transactions, so the job queue keeps
// moving meanwhile, and a failed import leaves nothing a reader sees.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "fixture.h"

using namespace wbtest;
using namespace std::chrono_literals;

namespace {

// `rows` SFT rows of about 130 bytes each, one per line.
std::string big_jsonl(int rows) {
  std::string s;
  s.reserve(static_cast<std::size_t>(rows) * 140);
  for (int i = 0; i < rows; ++i)
    s += "{\"prompt\":\"question number " + std::to_string(i) + " about something worth asking\",\"completion\":"
         "\"an answer that is long enough to matter " + std::to_string(i) + "\"}\n";
  return s;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("while a 40 MB import is written, a job's submit and cancel each answer within 100 ms", "[daemon][datasets]") {
  DaemonFixture d;
  const std::string jsonl = big_jsonl(300000);
  REQUIRE(jsonl.size() > 35'000'000);
  // One long job holds the runner, so the jobs submitted below stay queued and are cancelled at once.
  const std::int64_t runner = d.submit_sleep({{"steps", 100000}, {"step_ms", 10}});
  d.wait_job(runner, "running");

  std::atomic<bool> done{false};
  Reply imported;
  std::thread importer([&] {
    imported = d.post("/v1/datasets", {{"name", "big"}, {"kind", "sft"}, {"jsonl", jsonl}});
    done = true;
  });
  std::vector<double> submit_ms, cancel_ms;
  UnixHttp c(d.socket());
  while (!done) {
    auto t0 = std::chrono::steady_clock::now();
    HttpResult s = c.request("POST", "/v1/jobs", R"({"kind":"sleep","spec":{"steps":1}})");
    const double submit = ms_since(t0);
    REQUIRE(s.status == 201);
    const auto id = nlohmann::json::parse(s.body)["id"].get<std::int64_t>();
    t0 = std::chrono::steady_clock::now();
    HttpResult x = c.request("DELETE", "/v1/jobs/" + std::to_string(id));
    const double cancel = ms_since(t0);
    REQUIRE(x.status == 200);
    CHECK(nlohmann::json::parse(x.body)["state"] == "cancelled");
    if (done) break;  // the import ended during this round: it may not have overlapped it
    submit_ms.push_back(submit);
    cancel_ms.push_back(cancel);
    std::this_thread::sleep_for(10ms);
  }
  importer.join();
  INFO(imported.text.substr(0, 300));
  REQUIRE(imported.status == 201);
  CHECK(imported.body["rows"] == 300000);
  const double worst_submit = *std::max_element(submit_ms.begin(), submit_ms.end());
  const double worst_cancel = *std::max_element(cancel_ms.begin(), cancel_ms.end());
  INFO("rounds during the import: " << submit_ms.size() << ", slowest submit " << worst_submit
                                    << " ms, slowest cancel " << worst_cancel << " ms");
  REQUIRE(submit_ms.size() >= 20);
  CHECK(worst_submit <= 100.0);
  CHECK(worst_cancel <= 100.0);
  CHECK(d.get("/v1/datasets/big").body["rows"] == 300000);
  d.del("/v1/jobs/" + std::to_string(runner));
}
