// Integration: the plugin ABI's version range and struct_size rule (wb_plugin.h), with real
// modules loaded by a real daemon:
//   - the sleeper, built against the released ABI 2 header, loads and runs jobs through the ABI 2
//     host table (logs, progress, metrics, checkpoints reach the daemon through the job handle);
//   - a plugin claiming a future ABI, or one older than the oldest supported, is refused with the
//     versions named;
//   - an ABI 3 plugin whose wb_plugin is shorter than the daemon's is read only as far as its
//     struct_size: the fields it lacks are absent, whatever lies after it in memory.
#include <catch2/catch.hpp>

#include "fixture.h"
#include "wb/wb_plugin.h"

using namespace wbtest;

namespace {

json plugin_named(const json& status, const std::string& path_part) {
  for (auto& p : status["plugins"])
    if (p["path"].get<std::string>().find(path_part) != std::string::npos) return p;
  return nullptr;
}

}  // namespace

TEST_CASE("an ABI 2 plugin still loads and runs jobs through the ABI 2 host table", "[daemon][plugins][abi]") {
  DaemonFixture d({test_plugin_dir()});
  const json sleeper = plugin_named(d.get("/v1/status").body, "sleeper");
  REQUIRE(sleeper.is_object());
  CHECK(sleeper["status"] == "loaded");
  CHECK(sleeper["abi_version"] == 2);

  Reply r = d.post("/v1/jobs", {{"kind", "sleep"}, {"spec", {{"steps", 3}, {"step_ms", 1}}}});
  REQUIRE(r.status == 201);
  json j = d.wait_job(r.body["id"], "succeeded");
  INFO(j.dump());
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["progress"] == 1.0);
  CHECK(j["metrics"]["loss"]["value"] == Approx(1.0 / 3));
  CHECK_FALSE(j["checkpoint"].is_null());
}

TEST_CASE("plugins outside the supported ABI range are refused with both versions named", "[daemon][plugins][abi]") {
  DaemonFixture d({test_plugin_dir(), bad_plugin_dir()});
  const json status = d.get("/v1/status").body;
  const json future = plugin_named(status, "bad_abi");
  REQUIRE(future.is_object());
  CHECK(future["status"] == "error");
  CHECK_THAT(future["error"].get<std::string>(),
             Catch::Contains("plugin ABI version " + std::to_string(WB_PLUGIN_ABI_VERSION + 100) +
                             " is outside the daemon's supported range " + std::to_string(WB_PLUGIN_ABI_MIN_VERSION) +
                             ".." + std::to_string(WB_PLUGIN_ABI_VERSION)));
  const json old = plugin_named(status, "old_abi");
  REQUIRE(old.is_object());
  CHECK(old["status"] == "error");
  CHECK_THAT(old["error"].get<std::string>(),
             Catch::Contains("plugin ABI version 1 is outside the daemon's supported range " +
                             std::to_string(WB_PLUGIN_ABI_MIN_VERSION) + ".." + std::to_string(WB_PLUGIN_ABI_VERSION)) &&
                 Catch::Contains("rebuild the plugin"));
  CHECK(d.post("/v1/jobs", {{"kind", "old_abi_kind"}, {"spec", json::object()}}).status == 422);
}

TEST_CASE("a plugin struct shorter than the daemon's is read only as far as its struct_size", "[daemon][plugins][abi]") {
  DaemonFixture d({compat_plugin_dir()});
  const json status = d.get("/v1/status").body;
  const json p = plugin_named(status, "short_struct");
  REQUIRE(p.is_object());
  INFO(p.dump());
  CHECK(p["status"] == "loaded");
  CHECK(p["abi_version"] == WB_PLUGIN_ABI_VERSION);
  CHECK(p["job_kinds"] == json::array({"short"}));
  CHECK(p["methods"] == json::array());  // the bytes after its struct hold "short.poison": never read

  Reply r = d.post("/v1/jobs", {{"kind", "short"}, {"spec", json::object()}});
  REQUIRE(r.status == 201);
  json j = d.wait_job(r.body["id"], "succeeded");
  CHECK(j["state"] == "succeeded");
  CHECK(j["progress"] == 1.0);
}
