// [serving] shared_adapters against the real daemon: a request naming "<name>@<version>" that the
// daemon has not registered imports the folder of that name from the shared directory (once,
// however many requests race for it), validated as an import by path; bad folders are refused
// and leave nothing registered; at max_adapters the least recently used idle adapter makes room.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <thread>

#include "serving_fixture.h"

using namespace servingtest;

namespace {

const char* kShared = "[serving]\nshared_adapters = \"shared\"\n";  // relative to the config file: dir()/shared

json resident(ServingDaemon& d) {
  json out = json::object();
  for (const json& a : d.stats().value("adapters", json::array()))
    if (a.value("resident", true)) out[a["name"].get<std::string>()] = a;
  return out;
}

json registered(ServingDaemon& d, const std::string& name) {
  for (const json& a : d.get("/v1/adapters").body.value("adapters", json::array()))
    if (a["name"] == name) return a;
  return nullptr;
}

Reply greedy(ServingDaemon& d, const std::string& model) {
  return d.complete({{"model", model}, {"prompt", "hello world"}, {"max_tokens", 8}, {"temperature", 0}});
}

}  // namespace

TEST_CASE("serving: a request naming a shared adapter imports it once, registers it and serves it") {
  ServingDaemon d(kShared);
  d.serve();
  const fs::path shared = d.dir() / "shared";
  write_tiny_adapter(shared / "support@1", 11);
  // The reference: the same folder loaded by path under another name (version 1 of the registry).
  REQUIRE(d.load_adapter("reference", shared / "support@1").status == 200);
  Reply ref = greedy(d, "reference");
  REQUIRE(ref.status == 200);
  CHECK(ref.body["choices"][0]["text"] != greedy(d, "tiny").body["choices"][0]["text"]);

  // Concurrent first requests: every one answers with the reference's tokens, one load happened.
  std::vector<Reply> replies(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < replies.size(); ++i) threads.emplace_back([&, i] { replies[i] = greedy(d, "support@1"); });
  for (auto& t : threads) t.join();
  for (const Reply& r : replies) {
    INFO(r.text);
    REQUIRE(r.status == 200);
    CHECK(r.body["choices"][0]["text"] == ref.body["choices"][0]["text"]);
  }
  json res = resident(d);
  REQUIRE(res.contains("support@1"));
  CHECK(res["support@1"]["version"] == 2);
  json reg = registered(d, "support@1");
  REQUIRE(reg.is_object());
  CHECK(reg["base_model"] == "tiny");
  CHECK(fs::path(reg["path"].get<std::string>()) == shared / "support@1");
  CHECK(reg["rank"] == 4);

  // Unloaded (or unloaded for idleness), it comes back from its registration on the next request.
  REQUIRE(d.post("/v1/adapters/support@1/unload", json::object()).status == 200);
  Reply again = greedy(d, "support@1");
  REQUIRE(again.status == 200);
  CHECK(again.body["choices"][0]["text"] == ref.body["choices"][0]["text"]);
  CHECK(resident(d)["support@1"]["version"] == 3);

  // Names with no folder, without a version, or reaching outside the directory: the plugin's 404.
  write_tiny_adapter(shared / "plain", 12);
  write_tiny_adapter(d.dir() / "outside@1", 13);
  for (const char* name : {"support@2", "plain", "../outside@1", "support@1/../../outside@1"}) {
    INFO(name);
    CHECK(greedy(d, name).status == 404);
    CHECK(registered(d, name).is_null());
  }
}

TEST_CASE("serving: a shared adapter that fails an import's checks is refused and not registered") {
  ServingDaemon d(kShared);
  d.serve();
  const fs::path shared = d.dir() / "shared";
  // Made for another base (the wider model's shapes), a NaN in a weight, no PEFT files at all.
  write_tiny_adapter(shared / "wide@1", 21, 4, /*slow=*/true);
  write_tiny_adapter(shared / "nan@1", 22);
  {
    std::fstream f(shared / "nan@1" / "adapter_model.safetensors", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-4, std::ios::end);  // the last element of the last tensor
    const float nan = std::nanf("");
    f.write(reinterpret_cast<const char*>(&nan), sizeof nan);
  }
  fs::create_directories(shared / "empty@1");
  for (const char* name : {"wide@1", "nan@1", "empty@1"}) {
    INFO(name);
    Reply r = greedy(d, name);
    INFO(r.text);
    CHECK(r.status == 400);
    CHECK(r.text.find(name) != std::string::npos);
    CHECK(registered(d, name).is_null());
    CHECK_FALSE(resident(d).contains(name));
  }
  Reply nan = greedy(d, "nan@1");
  CHECK(nan.text.find("finite") != std::string::npos);
  // The daemon keeps serving, and a good adapter still loads.
  write_tiny_adapter(shared / "good@1", 23);
  CHECK(greedy(d, "good@1").status == 200);
}

TEST_CASE("serving: at max_adapters a shared adapter replaces the least recently used idle one") {
  ServingDaemon d(kShared);
  d.serve({{"max_adapters", 2}});
  const fs::path shared = d.dir() / "shared";
  const std::vector<std::pair<std::string, int>> made = {{"a@1", 31}, {"b@1", 32}, {"c@1", 33}};
  for (const auto& [name, seed] : made) write_tiny_adapter(shared / name, static_cast<std::uint64_t>(seed));
  for (const char* name : {"a@1", "b@1", "a@1", "c@1"}) REQUIRE(greedy(d, name).status == 200);
  json res = resident(d);
  CHECK(res.size() == 2);
  CHECK(res.contains("a@1"));  // used after b
  CHECK(res.contains("c@1"));
  // b comes back (from its registration), pushing out a, now the least recently used.
  REQUIRE(greedy(d, "b@1").status == 200);
  res = resident(d);
  CHECK(res.size() == 2);
  CHECK(res.contains("b@1"));
  CHECK(res.contains("c@1"));
}
