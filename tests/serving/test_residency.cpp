// [serving] load_on_request / idle_unload_s and a request's keep_alive against the real daemon:
// a request naming a registered model or adapter loads it (concurrent requests load it once),
// idle adapters and the model are unloaded, keep_alive overrides the idle time.
#include <catch2/catch.hpp>

#include <thread>

#include "serving_fixture.h"

using namespace servingtest;

namespace {

json resident(ServingDaemon& d) {
  json out = json::array();
  for (const json& a : d.stats().value("adapters", json::array()))
    if (a.value("resident", true)) out.push_back(a);
  return out;
}

bool serving(ServingDaemon& d) { return d.get("/v1/serving").body.value("serving", false); }

}  // namespace

TEST_CASE("serving: load_on_request loads the model and adapters a request names, once") {
  ServingDaemon d("[serving]\nload_on_request = true\n");
  CHECK_FALSE(serving(d));
  // No model served: a request naming the registered model starts it.
  Reply first = d.complete({{"model", "tiny"}, {"prompt", "hello"}, {"max_tokens", 2}});
  INFO(first.text);
  REQUIRE(first.status == 200);
  CHECK(serving(d));
  // A registered adapter that is not resident (loaded once by path, which registers it, then unloaded).
  REQUIRE(d.load_adapter("a", d.write_adapter("a", 11)).status == 200);
  REQUIRE(d.post("/v1/adapters/a/unload", json::object()).status == 200);
  CHECK(resident(d).empty());
  // Concurrent requests for it: every one answers, the adapter was loaded once (registry
  // versions count loads: 1 was the load by path, so a single load on request gives 2).
  std::vector<int> status(4, 0);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&, i] {
      status[size_t(i)] = d.complete({{"model", "a"}, {"prompt", "hello"}, {"max_tokens", 3}}).status;
    });
  for (auto& t : threads) t.join();
  CHECK(status == std::vector<int>(4, 200));
  json res = resident(d);
  REQUIRE(res.size() == 1);
  CHECK(res[0]["name"] == "a");
  CHECK(res[0]["version"] == 2);
  // Nothing registered under a name: still the plugin's 404.
  CHECK(d.complete({{"model", "nope"}, {"prompt", "x"}}).status == 404);
}

TEST_CASE("serving: without load_on_request a not resident model or adapter is refused as before") {
  ServingDaemon d;
  CHECK(d.complete({{"model", "tiny"}, {"prompt", "x"}}).status == 503);
  d.serve();
  REQUIRE(d.load_adapter("a", d.write_adapter("a", 11)).status == 200);
  REQUIRE(d.post("/v1/adapters/a/unload", json::object()).status == 200);
  CHECK(d.complete({{"model", "a"}, {"prompt", "x"}}).status == 404);
}

TEST_CASE("serving: idle_unload_s unloads idle adapters and the model, keep_alive overrides it") {
  ServingDaemon d("[serving]\nload_on_request = true\nidle_unload_s = 1\n");
  d.serve();
  REQUIRE(d.load_adapter("a", d.write_adapter("a", 11)).status == 200);
  REQUIRE(d.complete({{"model", "a"}, {"prompt", "hello"}, {"max_tokens", 2}}).status == 200);
  // Idle for a second: the adapter goes, then the model.
  CHECK(wbtest::eventually([&] { return resident(d).empty(); }, std::chrono::seconds(15)));
  CHECK(wbtest::eventually([&] { return !serving(d); }, std::chrono::seconds(15)));
  // The next request brings both back; keep_alive -1 keeps them past the idle time.
  Reply back = d.complete({{"model", "a"}, {"prompt", "hello"}, {"max_tokens", 2}, {"keep_alive", -1}});
  INFO(back.text);
  REQUIRE(back.status == 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  CHECK(resident(d).size() == 1);
  CHECK(serving(d));
  // keep_alive 0: unloaded as soon as it is idle.
  REQUIRE(d.complete({{"model", "a"}, {"prompt", "hello"}, {"max_tokens", 2}, {"keep_alive", "0s"}}).status == 200);
  CHECK(wbtest::eventually([&] { return resident(d).empty(); }, std::chrono::seconds(5)));
}
