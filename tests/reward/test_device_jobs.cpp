// Device choice through the real daemon and plugins (tests/sft's fixture with both plugins): on a
// machine without a GPU, a reward job asking for "cuda" is refused at submission naming the field
// and the reason, and one asking for "auto" trains on the CPU, logging the choice and recording
// it in its result; reward.score answers where it scored, refuses "cuda" the same way, and gives
// the same scores for "cpu" and "auto". (With a GPU, tests/reward/gpu compares the two devices.)
#include <catch2/catch.hpp>

#include <string>

#include "reward_fixture.h"

using namespace rewardtest;

TEST_CASE("reward jobs and reward.score: device cuda without a GPU is refused, auto runs on the CPU", "[reward][device][integration]") {
  const bool gpu = sfttest::gpu_here();
  RewardDaemon d("auto");  // the daemon default is what a spec without "device" gets: auto here
  d.import("help", "preference", "pref_helpful_train.jsonl", 0.1);
  d.init_tiny("base");
  const json spec = {{"model", "base"}, {"head", "helpfulness"}, {"datasets", {"help"}}, {"max_steps", 2},
                     {"batch", 4},      {"max_len", 48},         {"rank", 2}};
  auto refused = [&](const json& s, const std::string& needle) {
    auto r = d.d.post("/v1/jobs", {{"kind", "reward"}, {"spec", s}});
    INFO(s.dump() << " -> " << r.text);
    CHECK(r.status == 400);
    CHECK_THAT(r.text, Catch::Contains(needle));
  };
  json bad = spec;
  bad.update({{"device", "gpu"}, {"output", "never"}});
  refused(bad, "field 'device': expected one of auto, cpu, cuda, got \\\"gpu\\\"");  // as JSON text in the body
  bad.update({{"device", "cuda"}, {"dropout", 0.1}});
  refused(bad, "field 'device': cuda: LoRA with dropout runs on the CPU only");
  if (!gpu) {
    json cuda = spec;
    cuda.update({{"device", "cuda"}, {"output", "on-cuda"}});
    refused(cuda, "field 'device': cuda: ");
    refused(cuda, "set device to cpu or auto");
  }

  json a = spec;
  a.update({{"device", "auto"}, {"output", "on-auto"}});
  const json job = d.run_job("reward", a);
  bool logged = false, in_result = false;
  const std::string want = gpu ? "\"device\":\"cuda\"" : "\"device\":\"cpu\"";
  for (const auto& line : d.logs(job["id"])) {
    if (line.rfind(gpu ? "device: cuda (" : "device: cpu (auto: ", 0) == 0) logged = true;
    if (line.rfind("result ", 0) == 0 && line.find(want) != std::string::npos) in_result = true;
  }
  CHECK(logged);
  CHECK(in_result);

  const json items = {{"prompt", "What is 2 + 3?"}, {"response", "Answer: 5"}};
  auto score = [&](const std::string& device) {
    json body = {{"rm", "on-auto"}, {"items", {items, {{"prompt", "What is 2 + 3?"}, {"response", "no"}}}}};
    if (!device.empty()) body["device"] = device;
    return d.d.post("/v1/rewards/score", body);
  };
  const auto on_cpu = score("cpu");
  INFO(on_cpu.text);
  REQUIRE(on_cpu.status == 200);
  CHECK(on_cpu.body["device"] == "cpu");
  const auto by_default = score("");
  REQUIRE(by_default.status == 200);
  CHECK(by_default.body["device"] == (gpu ? "cuda" : "cpu"));
  if (!gpu) {
    CHECK(by_default.body["scores"] == on_cpu.body["scores"]);  // the same code path, bit for bit
    const auto cuda = score("cuda");
    CHECK(cuda.status == 400);
    CHECK_THAT(cuda.text, Catch::Contains("field 'device': cuda: "));
  }
  const auto typo = score("gpu");
  CHECK(typo.status == 400);
  CHECK_THAT(typo.text, Catch::Contains("field 'device'"));
}
