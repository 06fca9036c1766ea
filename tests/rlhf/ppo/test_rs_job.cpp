// Integration: the rejection_sampling job through a real daemon with the sft, reward, rlhf and
// serve plugins — it runs its rounds to the end with the best-of-N curve per round (max
// non-decreasing in N, never below the median) and the SFT loss, the SFT adapter's and base
// model's files unchanged, its policy adapter served; kill -9 mid-job resumes from the checkpoint
// and the kept answers and ends with the uninterrupted run's adapter; bad specs (K = 0 among them)
// are refused naming the field with nothing stored; `wb train rs --set` submits.
#include <set>

#include <catch2/catch.hpp>

#include "rl_fixture.h"

using namespace rltest;

namespace {

json rs_spec(const std::string& output) {
  return {{"model", "base"}, {"adapter", "sft"}, {"helpfulness", "rm-h"}, {"safety", "rm-s"}, {"dataset", "prompts"},
          {"k", 4}, {"rounds", 2}, {"max_new_tokens", 6}, {"batch_size", 4}, {"lr", 1e-3}, {"seed", 7},
          {"output", output}};
}

}  // namespace

TEST_CASE("rejection_sampling job: rounds run to the end with the best-of-N curve and the SFT loss, the policy served", "[rlhf][rs][integration]") {
  RlDaemon d;
  const fs::path base_dir = d.record("model", "base")["path"].get<std::string>();
  const fs::path sft_dir = d.record("adapter", "sft")["path"].get<std::string>();
  const auto base_before = tree_bytes(base_dir);
  const auto sft_before = tree_bytes(sft_dir);

  const json job = d.run_job("rejection_sampling", rs_spec("rs-a"));
  const int64_t id = job["id"];
  for (int round = 1; round <= 2; ++round) {
    INFO("round " << round);
    double prev = -1e300;
    for (int n = 1; n <= 4; ++n) {
      const auto mx = d.metric(id, "max_reward_n" + std::to_string(n));
      const auto med = d.metric(id, "median_reward_n" + std::to_string(n));
      REQUIRE(mx.size() == 2);
      REQUIRE(med.size() == 2);
      const double m = mx[static_cast<size_t>(round - 1)].second;
      CHECK(m >= prev);
      CHECK(m >= med[static_cast<size_t>(round - 1)].second);
      prev = m;
    }
    CHECK(d.metric(id, "max_reward_n1")[static_cast<size_t>(round - 1)].second ==
          d.metric(id, "median_reward_n1")[static_cast<size_t>(round - 1)].second);
  }
  CHECK(d.metric(id, "median_reward_n5").empty());
  // Kept answers are the best of every round so far: their mean never falls between rounds.
  const auto kept = d.metric(id, "kept_reward");
  REQUIRE(kept.size() == 2);
  CHECK(kept[1].second >= kept[0].second);
  CHECK(kept[0].second == Approx(d.metric(id, "max_reward_n4")[0].second).epsilon(1e-12));
  // 12 prompts, batch 4, 1 epoch: 3 SFT steps per round.
  CHECK(d.metric(id, "train_loss").size() == 6);

  CHECK(tree_bytes(base_dir) == base_before);
  CHECK(tree_bytes(sft_dir) == sft_before);
  const json a = d.record("adapter", "rs-a");
  REQUIRE(a.is_object());
  CHECK(a["base_model"] == "base");
  CHECK(a["kind"] == "policy");
  auto r = d.d.post("/v1/serving", {{"model", "base"}});
  INFO(r.text);
  REQUIRE(r.status == 200);
  r = d.d.post("/v1/adapters/rs-a/load", json::object());
  INFO(r.text);
  CHECK(r.status == 200);
  r = d.d.post("/v1/completions", {{"model", "rs-a"}, {"prompt", "What is 2 plus 3?"}, {"max_tokens", 4}});
  INFO(r.text);
  CHECK(r.status == 200);
}

TEST_CASE("kill -9 mid-rejection-sampling: restart resumes and ends with the uninterrupted adapter", "[rlhf][rs][integration][recovery]") {
  RlDaemon d;
  json spec = rs_spec("resumed");
  spec["rounds"] = 6;
  spec["batch_size"] = 2;
  spec["checkpoint_every"] = 2;
  const int64_t id = d.submit("rejection_sampling", spec);
  json mid;
  REQUIRE(wbtest::eventually([&] {
    mid = d.d.job(id);
    return mid["checkpoint"].is_string() && d.metric(id, "kept_reward").size() >= 2;
  }, std::chrono::seconds(180)));
  d.d.process.kill9();
  INFO(mid.dump());
  REQUIRE(mid["state"] == "running");

  d.d.process.start();
  const json j = d.wait_final(id, std::chrono::seconds(300));
  REQUIRE(j["state"] == "succeeded");
  CHECK(d.logged(id, "resumed from"));
  CHECK(d.logged(id, "kept answers of"));
  std::set<int64_t> seen;
  for (auto& [step, v] : d.metric(id, "train_loss")) seen.insert(step);
  CHECK(seen.size() == 36u);  // 6 rounds x 6 steps, none lost

  spec["output"] = "straight";
  const json s = d.run_job("rejection_sampling", spec, std::chrono::seconds(300));
  const fs::path resumed = d.record("adapter", "resumed")["path"].get<std::string>();
  const fs::path straight = d.record("adapter", "straight")["path"].get<std::string>();
  const std::string bytes = file_bytes(resumed / "adapter_model.safetensors");
  CHECK(!bytes.empty());
  CHECK(bytes == file_bytes(straight / "adapter_model.safetensors"));
  CHECK(d.last_metric(id, "kept_reward") == d.last_metric(s["id"], "kept_reward"));
}

TEST_CASE("bad rejection_sampling specs are refused at submission naming the field, with nothing stored", "[rlhf][rs][integration]") {
  RlDaemon d;
  const json jobs_before = d.d.get("/v1/jobs").body;
  const json adapters_before = d.d.get("/v1/adapters").body;
  const json good = rs_spec("ok");
  auto refused = [&](const json& spec, const std::string& needle) {
    auto r = d.d.post("/v1/jobs", {{"kind", "rejection_sampling"}, {"spec", spec}});
    INFO(spec.dump() << " -> " << r.text);
    CHECK(r.status == 400);
    CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains(needle));
  };
  json s = good;
  s["k"] = 0;
  refused(s, "field 'k'");
  s = good;
  s["helpfulness"] = "sft";
  refused(s, "field 'helpfulness': adapter 'sft' is a policy adapter, not a reward model");
  s = good;
  s["dataset"] = "prompts-untagged";
  refused(s, "field 'dataset': prompt dataset 'prompts-untagged' has no is_safety_prompt tags");
  s = good;
  s["temperature"] = 0;
  refused(s, "field 'temperature'");
  s = good;
  s["rounds"] = 0;
  refused(s, "field 'rounds'");
  s = good;
  s["best_of"] = 4;
  refused(s, "field 'best_of'");
  CHECK(d.d.get("/v1/jobs").body == jobs_before);
  CHECK(d.d.get("/v1/adapters").body == adapters_before);
}

TEST_CASE("wb train rs --set submits a rejection_sampling job named rs-<id> and follows it to the end", "[rlhf][rs][integration][cli]") {
  RlDaemon d;
  const sfttest::WbRun run = sfttest::run_wb(
      d.socket(), "train rs --set model=base --set adapter=sft --set helpfulness=rm-h --set safety=rm-s "
                  "--set dataset=prompts --set k=2 --set max_new_tokens=4 --set batch_size=6 --follow");
  INFO(run.out);
  CHECK(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("submitted rejection_sampling job"));
  const std::string marker = "submitted rejection_sampling job ";
  const auto at = run.out.find(marker);
  REQUIRE(at != std::string::npos);
  const int64_t id = std::stoll(run.out.substr(at + marker.size()));
  CHECK(d.d.job(id)["kind"] == "rejection_sampling");
  CHECK_THAT(run.out, Catch::Contains("(output rs-" + std::to_string(id) + ")"));
  CHECK(d.record("adapter", "rs-" + std::to_string(id)).is_object());
}

TEST_CASE("the suite's training prompts run under the default safety_tags, each tagged unsafe prompt read as one", "[rlhf][rs][integration]") {
  RlDaemon d;
  // The generated suite's prompts_train.jsonl, as the demo and the README tour import it.
  d.import_file("suite-prompts", "prompt", "prompts_train.jsonl");
  int64_t tagged = 0, rows = 0;
  {
    std::ifstream in(d.suite_dir() / "prompts_train.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      const json row = json::parse(line);
      REQUIRE(row.contains("is_safety_prompt"));
      tagged += row["is_safety_prompt"].get<bool>() ? 1 : 0;
      ++rows;
    }
  }
  REQUIRE(tagged > 0);
  REQUIRE(tagged < rows);
  // No safety_tags in the spec: the default (true) needs the tags and routes the tagged prompts'
  // rewards to the safety model.
  const json job = d.run_job("rejection_sampling", {{"model", "base"}, {"adapter", "sft"}, {"helpfulness", "rm-h"},
                                                    {"safety", "rm-s"}, {"dataset", "suite-prompts"}, {"k", 1},
                                                    {"max_new_tokens", 2}, {"batch_size", 32}, {"seed", 3},
                                                    {"output", "rs-suite"}});
  const int64_t id = job["id"];
  bool read = false;
  for (const auto& line : d.logs(id))
    read = read || line.find("over " + std::to_string(rows) + " prompts (" + std::to_string(tagged) + " tagged unsafe)") !=
                       std::string::npos;
  CHECK(read);
}
