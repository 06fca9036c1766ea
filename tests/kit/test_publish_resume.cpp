// Publishing a job's result through the kit (plugin::publish_adapter) is idempotent for that
// job: a daemon killed after the result was registered but before the job was marked succeeded
// resumes the job, which finds its own result and succeeds. Another job publishing the same name
// is still refused. The publisher test plugin (tests/kit/plugins/publisher.cpp) holds in that
// window while <data_dir>/hold exists.
#include <catch2/catch.hpp>

#include <fstream>

#include "fixture.h"

using namespace wbtest;

namespace {

json adapter_named(DaemonFixture& d, const std::string& name) {
  const json list = d.get("/v1/adapters").body["adapters"];
  for (const auto& a : list)
    if (a["name"] == name) return a;
  return json();
}

}  // namespace

TEST_CASE("kill -9 after a job registered its result adapter: the resumed job succeeds with it", "[kit][recovery]") {
  DaemonFixture d({WB_PUBLISHER_PLUGIN_DIR});
  const auto hold = d.process.data_dir() / "hold";
  std::ofstream(hold) << "hold";
  Reply r = d.post("/v1/jobs", {{"kind", "publish"}, {"spec", {{"name", "result"}, {"base_model", "m"}}}});
  REQUIRE(r.status == 201);
  const std::int64_t id = r.body["id"];
  const bool registered = eventually([&] { return adapter_named(d, "result").is_object(); }, std::chrono::seconds(20));
  INFO(d.job(id).dump());
  REQUIRE(registered);
  CHECK(d.job(id)["state"] == "running");
  d.process.kill9();

  std::filesystem::remove(hold);
  d.process.start();
  const json j = d.wait_job(id, "succeeded", std::chrono::seconds(30));
  INFO(j.dump());
  REQUIRE(j["state"] == "succeeded");
  const json a = adapter_named(d, "result");
  REQUIRE(a.is_object());
  CHECK(a["job"] == id);
  CHECK(std::filesystem::exists(d.process.data_dir() / "adapters" / "result" / "adapter_config.json"));

  // Another job may not take the name: it fails naming it, and the first job's files stay.
  Reply other = d.post("/v1/jobs", {{"kind", "publish"}, {"spec", {{"name", "result"}, {"base_model", "m"}}}});
  REQUIRE(other.status == 201);
  const json f = d.wait_job(other.body["id"], "failed", std::chrono::seconds(20));
  REQUIRE(f["state"] == "failed");
  CHECK(f["error"].dump().find("adapter 'result' already exists") != std::string::npos);
  CHECK(adapter_named(d, "result")["job"] == id);
  CHECK(std::filesystem::exists(d.process.data_dir() / "adapters" / "result" / "adapter_config.json"));
}
