// wb train reward --head and wb reward score against the real daemon: the table and --json forms,
// and a cancelled reward job.
#include <catch2/catch.hpp>

#include "reward_fixture.h"

using namespace rewardtest;

namespace {

using Run = sfttest::WbRun;

Run wb(const std::string& socket, const std::string& args) { return sfttest::run_wb(socket, args); }

}  // namespace

TEST_CASE("wb train reward --head and wb reward score (table and --json)", "[reward][integration][cli]") {
  RewardDaemon d;
  d.import("help", "preference", "pref_helpful_train.jsonl", 0.2);
  d.init_tiny("base");
  const std::string s = d.d.socket();
  Run r = wb(s, "train reward --head safety --set model=base --set datasets=help --set output=rm --set max_steps=20 "
                "--set max_len=64 --follow");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("state: succeeded") != std::string::npos);
  r = wb(s, "train reward --head honesty --set model=base --set datasets=help --set output=rm2");
  CHECK(r.code != 0);

  r = wb(s, "--json reward score --rm rm --prompt 'What is 1 + 1?' --response 'Answer: 2'");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const json j = json::parse(r.out);
  CHECK(j["kind"] == "reward_safety");
  CHECK(j["scores"].size() == 1);
  // --device reaches the method: the same score on the CPU; a value outside cpu|cuda|auto is a
  // usage error.
  r = wb(s, "--json reward score --device cpu --rm rm --prompt 'What is 1 + 1?' --response 'Answer: 2'");
  INFO(r.out);
  REQUIRE(r.code == 0);
  const json jc = json::parse(r.out);
  CHECK(jc["device"] == "cpu");
  if (j["device"] == "cpu") CHECK(jc["scores"] == j["scores"]);  // (auto may have scored on a GPU)
  r = wb(s, "reward score --device tpu --rm rm --prompt a --response b");
  CHECK(r.code != 0);

  r = wb(s, "reward score --rm rm --dataset help --split eval --rows");
  INFO(r.out);
  REQUIRE(r.code == 0);
  CHECK(r.out.find("held-out pairs (rm)") != std::string::npos);
  CHECK(r.out.find("significantly better") != std::string::npos);
  CHECK(r.out.find("correct") != std::string::npos);

  r = wb(s, "reward score --rm ghost --prompt a --response b");
  CHECK(r.code != 0);
  CHECK(r.out.find("unknown adapter 'ghost'") != std::string::npos);
  r = wb(s, "reward score --rm rm --prompt a");
  CHECK(r.code != 0);
  CHECK(r.out.find("--prompt and --response go together") != std::string::npos);
}

TEST_CASE("a running reward job is cancelled within a step", "[reward][integration]") {
  RewardDaemon d;
  d.import("help", "preference", "pref_helpful_train.jsonl");
  d.init_tiny("base");
  const int64_t id = d.submit("reward", {{"model", "base"}, {"head", "helpfulness"}, {"datasets", {"help"}},
                                         {"max_steps", 100000}, {"max_len", 64}, {"output", "never"}});
  REQUIRE(wbtest::eventually([&] { return !d.metric(id, "train_loss").empty(); }, std::chrono::seconds(60)));
  auto r = d.d.del("/v1/jobs/" + std::to_string(id));
  CHECK(r.status == 200);
  const json j = d.wait_final(id, std::chrono::seconds(30));
  CHECK(j["state"] == "cancelled");
  CHECK(d.d.get("/v1/adapters").body["adapters"].empty());  // nothing registered
}
