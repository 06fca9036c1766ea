// An adapter produced by a training job (the sft plugin's LoRA SFT) loads by name: the daemon
// takes its path from the registry; the served output changes with it; `wb adapter list` shows
// it with its job.
#include <catch2/catch.hpp>

#include "harness.h"
#include "serving_fixture.h"

using namespace servingtest;

TEST_CASE("serving: an adapter registered by a training job loads by name") {
  ServingDaemon d;
  std::string jsonl;
  for (int i = 0; i < 16; ++i)
    jsonl += json{{"messages", {{{"role", "user"}, {"content", "hello " + std::to_string(i)}},
                                {{"role", "assistant"}, {"content", "the cat sat on the mat"}}}}}.dump() + "\n";
  REQUIRE(d.post("/v1/datasets", {{"name", "chat"}, {"kind", "sft"}, {"jsonl", jsonl}}).status == 201);
  Reply job = d.post("/v1/jobs", {{"kind", "sft"},
                                  {"spec", {{"model", "tiny"}, {"dataset", "chat"}, {"method", "lora"}, {"rank", 4},
                                            {"max_steps", 3}, {"batch_size", 2}, {"context_length", 64},
                                            {"lr", 0.01}, {"output", "sft-1"}}}});
  INFO(job.text);
  REQUIRE(job.status == 201);
  const std::int64_t id = job.body["id"].get<std::int64_t>();
  json rec;
  REQUIRE(wbtest::eventually([&] {
    rec = d.get("/v1/jobs/" + std::to_string(id)).body;
    const std::string s = rec.value("state", "");
    return s == "succeeded" || s == "failed" || s == "cancelled";
  }, std::chrono::seconds(90)));
  INFO(rec.dump());
  REQUIRE(rec["state"] == "succeeded");

  d.serve();
  Reply load = d.load_adapter("sft-1");  // no path: the registry's
  INFO(load.text);
  REQUIRE(load.status == 200);
  CHECK(load.body["job"] == id);
  CHECK(load.body["loaded"] == true);
  CHECK(load.body["resident"]["rank"] == 4);
  // A different path for a registered name is refused.
  CHECK(d.load_adapter("sft-1", d.write_adapter("other", 3)).status == 409);

  Reply r = d.chat({{"model", "sft-1"}, {"messages", {{{"role", "user"}, {"content", "hello 3"}}}}, {"max_tokens", 8},
                    {"temperature", 0}});
  INFO(r.text);
  REQUIRE(r.status == 200);
  CHECK(r.body["model"] == "sft-1");
  auto list = wbtest::wb(d.socket(), {"adapter", "list"});
  CHECK(list.exit_code == 0);
  CHECK(list.out.find("sft-1") != std::string::npos);
  CHECK(list.out.find(std::to_string(id)) != std::string::npos);
}
