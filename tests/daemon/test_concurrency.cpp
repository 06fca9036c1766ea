// Integration: 200 concurrent clients × 20 requests (status, submit a 0-step sleep job, list
// jobs) → zero failed requests, zero lost jobs.
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "fixture.h"

using namespace wbtest;

TEST_CASE("200 concurrent clients, 20 requests each: no failures, no lost jobs", "[daemon][load]") {
  DaemonFixture d;
  const int clients = 200, per_client = 20;
  std::atomic<int> failures{0}, ok{0};
  std::mutex mu;
  std::set<std::int64_t> submitted;
  std::vector<std::string> errors;
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      try {
        UnixHttp conn(d.socket());
        for (int i = 0; i < per_client; ++i) {
          HttpResult r;
          int kind = (c + i) % 3;
          if (kind == 0) r = conn.request("GET", "/v1/status");
          else if (kind == 1) r = conn.request("POST", "/v1/jobs", R"({"kind":"sleep","spec":{"steps":0}})");
          else r = conn.request("GET", "/v1/jobs?limit=20");
          bool good = kind == 1 ? r.status == 201 : r.status == 200;
          json body = json::parse(r.body, nullptr, false);
          good = good && body.is_object();
          if (good && kind == 1) {
            std::lock_guard<std::mutex> lk(mu);
            submitted.insert(body["id"].get<std::int64_t>());
          }
          if (good) ++ok;
          else {
            ++failures;
            std::lock_guard<std::mutex> lk(mu);
            errors.push_back(std::to_string(r.status) + " " + r.body);
          }
        }
      } catch (const std::exception& e) {
        ++failures;
        std::lock_guard<std::mutex> lk(mu);
        errors.push_back(e.what());
      }
    });
  for (auto& t : threads) t.join();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  INFO("first errors: " << (errors.empty() ? std::string("none") : errors.front()));
  CHECK(failures == 0);
  CHECK(ok == clients * per_client);
  WARN("4000 requests from 200 clients took "
       << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");

  // Every submitted job is stored and runs to succeeded.
  REQUIRE(eventually([&] {
    json s = d.get("/v1/status").body;
    return s["jobs"]["succeeded"].get<std::size_t>() == submitted.size();
  }, std::chrono::seconds(60)));
  json all = d.get("/v1/jobs?limit=100000").body["jobs"];
  std::set<std::int64_t> stored;
  for (auto& j : all) stored.insert(j["id"].get<std::int64_t>());
  CHECK(stored == submitted);
  CHECK(d.process.terminate() == 0);
}
