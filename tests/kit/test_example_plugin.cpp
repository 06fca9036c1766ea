// The example plugin of docs/PLUGINS.md, written from the kit's headers alone
// (plugins/kit/example/hello.cpp): built as a module, loaded by a real daemon, its job and its
// method used over HTTP. The page shows the file itself: the code block must be the file.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "fixture.h"
#include "wb/wb_plugin.h"

using namespace wbtest;

namespace {

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("the kit's example plugin loads, runs its job and answers its method", "[kit][plugins]") {
  DaemonFixture d({WB_EXAMPLE_PLUGIN_DIR});
  const json status = d.get("/v1/status").body;
  json hello;
  for (auto& p : status["plugins"])
    if (p["name"] == "hello") hello = p;
  REQUIRE(hello.is_object());
  CHECK(hello["status"] == "loaded");
  CHECK(hello["abi_version"] == WB_PLUGIN_ABI_VERSION);
  CHECK(hello["job_kinds"] == json::array({"count"}));
  CHECK(hello["methods"] == json::array({"hello.greet"}));

  Reply r = d.post("/v1/jobs", {{"kind", "count"}, {"spec", {{"to", 5}, {"step_ms", 1}}}});
  REQUIRE(r.status == 201);
  json j = d.wait_job(r.body["id"], "succeeded");
  INFO(j.dump());
  CHECK(j["state"] == "succeeded");
  CHECK(j["progress"] == 1.0);
  CHECK(j["metrics"]["count"]["value"] == 5);

  Reply bad = d.post("/v1/jobs", {{"kind", "count"}, {"spec", {{"to", 0}}}});
  CHECK(bad.status == 400);
  CHECK(bad.body["error"]["message"] == "field 'to': expected an integer 1..1000, got 0");
  bad = d.post("/v1/jobs", {{"kind", "count"}, {"spec", {{"too", 3}}}});
  CHECK(bad.status == 400);
  CHECK(bad.body["error"]["message"] == "field 'too': unknown field");

  Reply greet = d.post("/v1/methods/hello.greet", {{"name", "Ada"}});
  CHECK(greet.status == 200);
  CHECK(greet.body == json{{"greeting", "hello, Ada"}});
  Reply unnamed = d.post("/v1/methods/hello.greet", json::object());
  CHECK(unnamed.status == 400);
  CHECK(unnamed.body["error"]["message"] == "field 'name': is required");
  CHECK(d.post("/v1/methods/hello.nothing", json::object()).status == 422);
}

TEST_CASE("docs/PLUGINS.md shows the example plugin exactly as it is built", "[kit][docs]") {
  const std::string page = read_text(std::filesystem::path(WB_SOURCE_DIR) / "docs/PLUGINS.md");
  const std::string source = read_text(std::filesystem::path(WB_SOURCE_DIR) / "plugins/kit/example/hello.cpp");
  REQUIRE_FALSE(source.empty());
  CHECK(page.find("```cpp\n" + source + "```\n") != std::string::npos);
}
