// Integration: the host table's data functions (lookup, dataset_rows, comparison_insert,
// register_artifact) as a plugin sees them, through the host_probe test plugin.
#include <catch2/catch.hpp>

#include "fixture.h"

using namespace wbtest;

TEST_CASE("a plugin reads datasets and registers artifacts through the host table", "[daemon][host]") {
  DaemonFixture d({probe_plugin_dir()});
  std::string jsonl;
  for (int i = 0; i < 1200; ++i) jsonl += R"({"prompt":"q)" + std::to_string(i) + R"(","completion":"a"})" "\n";
  Reply imp = d.post("/v1/datasets", {{"name", "src"}, {"kind", "sft"}, {"jsonl", jsonl}, {"eval_fraction", 0.25}});
  REQUIRE(imp.status == 201);

  Reply r = d.post("/v1/jobs", {{"kind", "probe"}, {"spec", {{"dataset", "src"}}}});
  REQUIRE(r.status == 201);
  std::int64_t id = r.body["id"];
  json j = d.wait_job(id, "succeeded");
  INFO(j.dump());
  REQUIRE(j["state"] == "succeeded");
  CHECK(j["metrics"]["rows"]["value"] == 1200);  // more than one 512-row page
  CHECK(j["metrics"]["train_rows"]["value"] == imp.body["train_rows"]);
  CHECK(j["metrics"]["early_stop"]["value"] == 3);

  json models = d.get("/v1/models").body["models"];
  REQUIRE(models.size() == 1);
  CHECK(models[0]["name"] == "probe-model");
  CHECK(models[0]["config"]["dim"] == 8);
  CHECK(d.get("/v1/models/probe-model").status == 200);
  CHECK(d.get("/v1/models/none").status == 404);

  json adapters = d.get("/v1/adapters").body["adapters"];
  REQUIRE(adapters.size() == 1);
  CHECK(adapters[0]["name"] == "probe-adapter");
  CHECK(adapters[0]["job"] == id);  // the producing job is recorded by the host
  CHECK(adapters[0]["loaded"] == false);

  Reply prompts = d.get("/v1/datasets/probe-prompts");
  REQUIRE(prompts.status == 200);
  CHECK(prompts.body["rows"] == 2);
  CHECK(http(d.socket(), "GET", "/v1/datasets/probe-prompts/export").body == "{\"prompt\":\"one\"}\n{\"prompt\":\"two\"}\n");

  Reply labels = d.get("/v1/comparisons?dataset=probe-labels");
  CHECK(labels.body["total"] == 1);
  CHECK(labels.body["comparisons"][0]["source"] == "model");

  json status = d.get("/v1/status").body;
  CHECK(status["models"] == 1);
  CHECK(status["adapters"] == 1);
  CHECK(status["datasets"] == 3);
}
