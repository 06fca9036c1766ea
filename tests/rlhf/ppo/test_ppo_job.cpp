// Integration: the ppo job through a real daemon with the sft, reward, rlhf and serve plugins — it
// runs to its end with every metric per iteration, KL 0 and ratio 1 at the first iteration, the
// reference (base model and SFT adapter files) unchanged, and its policy adapter served; kill -9
// mid-job resumes from the checkpoint and ends with the uninterrupted run's adapter; bad specs are
// refused naming the field with nothing stored; `wb train ppo --set` submits.
#include <set>

#include <catch2/catch.hpp>

#include "rl_fixture.h"
#include "wb/llama/device.h"

using namespace rltest;

namespace {

json ppo_spec(const std::string& output) {
  return {{"model", "base"}, {"adapter", "sft"}, {"helpfulness", "rm-h"}, {"safety", "rm-s"}, {"dataset", "prompts"},
          {"iterations", 4}, {"batch", 4}, {"mini_batch", 2}, {"max_new_tokens", 6}, {"lr", 1e-3}, {"value_lr", 1e-3},
          {"seed", 5}, {"output", output}};
}

}  // namespace

TEST_CASE("ppo job: runs to the end with its metrics, KL 0 and ratio 1 first, the reference unchanged, the policy served", "[rlhf][ppo][integration]") {
  RlDaemon d;
  const fs::path base_dir = d.record("model", "base")["path"].get<std::string>();
  const fs::path sft_dir = d.record("adapter", "sft")["path"].get<std::string>();
  const auto base_before = tree_bytes(base_dir);
  const auto sft_before = tree_bytes(sft_dir);

  const json job = d.run_job("ppo", ppo_spec("ppo-a"));
  const int64_t id = job["id"];
  for (const char* m : {"reward_raw", "reward_logit", "reward_whitened", "kl", "entropy", "policy_loss", "value_loss",
                        "clip_fraction", "value_clip_fraction", "approx_kl", "ratio", "response_length",
                        "generation_seconds", "training_seconds", "generation_share"}) {
    INFO(m);
    CHECK(d.metric(id, m).size() == 4);
  }
  // The policy starts as a copy of the SFT adapter, the reference: KL 0 and ratio 1 exactly.
  CHECK(d.metric(id, "kl").front().second == 0.0);
  CHECK(d.metric(id, "ratio").front().second == 1.0);
  CHECK(d.metric(id, "kl").back().second != 0.0);  // the policy moved
  CHECK(std::abs(d.metric(id, "reward_whitened").front().second) < 1e-6);
  const double share = d.last_metric(id, "generation_share");
  CHECK(share > 0.0);
  CHECK(share < 1.0);
  CHECK(d.last_metric(id, "response_length") >= 1.0);
  CHECK(d.last_metric(id, "response_length") <= 6.0);
  bool tagged = false;
  for (const auto& line : d.logs(id)) tagged = tagged || line.find("(3 tagged unsafe)") != std::string::npos;
  CHECK(tagged);

  CHECK(tree_bytes(base_dir) == base_before);
  CHECK(tree_bytes(sft_dir) == sft_before);

  const json a = d.record("adapter", "ppo-a");
  REQUIRE(a.is_object());
  CHECK(a["base_model"] == "base");
  CHECK(a["kind"] == "policy");
  auto r = d.d.post("/v1/serving", {{"model", "base"}});
  INFO(r.text);
  REQUIRE(r.status == 200);
  r = d.d.post("/v1/adapters/ppo-a/load", json::object());
  INFO(r.text);
  CHECK(r.status == 200);
  r = d.d.post("/v1/completions", {{"model", "ppo-a"}, {"prompt", "What is 2 plus 3?"}, {"max_tokens", 4}});
  INFO(r.text);
  CHECK(r.status == 200);
}

TEST_CASE("kill -9 mid-PPO: restart resumes from the checkpoint and ends with the uninterrupted adapter", "[rlhf][ppo][integration][recovery]") {
  RlDaemon d;
  const int iterations = 40;
  json spec = ppo_spec("resumed");
  spec["iterations"] = iterations;
  spec["checkpoint_every"] = 2;
  const int64_t id = d.submit("ppo", spec);
  json mid;
  REQUIRE(wbtest::eventually([&] {
    mid = d.d.job(id);
    return mid["checkpoint"].is_string();
  }, std::chrono::seconds(120)));
  d.d.process.kill9();
  INFO(mid.dump());
  REQUIRE(mid["state"] == "running");

  d.d.process.start();
  const json j = d.wait_final(id, std::chrono::seconds(300));
  REQUIRE(j["state"] == "succeeded");
  CHECK(d.logged(id, "resumed from"));
  std::set<int64_t> seen;
  for (auto& [step, v] : d.metric(id, "kl")) seen.insert(step);
  CHECK(seen.size() == static_cast<size_t>(iterations));

  spec["output"] = "straight";
  d.run_job("ppo", spec, std::chrono::seconds(300));
  const fs::path resumed = d.record("adapter", "resumed")["path"].get<std::string>();
  const fs::path straight = d.record("adapter", "straight")["path"].get<std::string>();
  const std::string bytes = file_bytes(resumed / "adapter_model.safetensors");
  CHECK(!bytes.empty());
  CHECK(bytes == file_bytes(straight / "adapter_model.safetensors"));
}

TEST_CASE("bad ppo specs are refused at submission naming the field, with nothing stored", "[rlhf][ppo][integration]") {
  RlDaemon d;
  const json jobs_before = d.d.get("/v1/jobs").body;
  const json models_before = d.d.get("/v1/models").body;
  const json adapters_before = d.d.get("/v1/adapters").body;
  const json good = ppo_spec("ok");
  auto refused = [&](const json& spec, const std::string& needle) {
    auto r = d.d.post("/v1/jobs", {{"kind", "ppo"}, {"spec", spec}});
    INFO(spec.dump() << " -> " << r.text);
    CHECK(r.status == 400);
    CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains(needle));
  };
  json s = good;
  s["helpfulness"] = "sft";
  refused(s, "field 'helpfulness': adapter 'sft' is a policy adapter, not a reward model");
  s = good;
  s["safety"] = "rm-h";
  refused(s, "field 'safety': adapter 'rm-h' is a reward_helpfulness model");
  s = good;
  s["dataset"] = "prompts-untagged";
  refused(s, "field 'dataset': prompt dataset 'prompts-untagged' has no is_safety_prompt tags");
  s = good;
  s["dataset"] = "prefs";
  refused(s, "field 'dataset': 'prefs' is a preference dataset");
  s = good;
  s["beta"] = -0.01;
  refused(s, "field 'beta'");
  s = good;
  s["reference"] = "merged";
  refused(s, "field 'reference'");
  s = good;
  s["mini_batch"] = 8;
  refused(s, "field 'mini_batch'");
  s = good;
  s["device"] = "gpu";
  refused(s, "field 'device'");
  if (!wb::llama::cuda_unavailable().empty()) {  // cuda is refused only where it cannot run
    s = good;
    s["device"] = "cuda";
    refused(s, "field 'device'");
    refused(s, wb::llama::cuda_unavailable());
  }
  s = good;
  s["output"] = "sft";
  refused(s, "field 'output': adapter 'sft' already exists");
  s = good;
  s["kl_coef"] = 0.1;
  refused(s, "field 'kl_coef'");
  CHECK(d.d.get("/v1/jobs").body == jobs_before);
  CHECK(d.d.get("/v1/models").body == models_before);
  CHECK(d.d.get("/v1/adapters").body == adapters_before);
  // Without tags the gate still runs on the safety score alone: accepted.
  s = good;
  s["dataset"] = "prompts-untagged";
  s["safety_tags"] = false;
  s["iterations"] = 1;
  CHECK(d.d.post("/v1/jobs", {{"kind", "ppo"}, {"spec", s}}).status == 201);
}

TEST_CASE("ppo job: device auto runs where it can and cuda is accepted exactly where a device answers", "[rlhf][ppo][integration][device]") {
  RlDaemon d;
  const bool gpu = wb::llama::cuda_unavailable().empty();
  json spec = ppo_spec("ppo-auto");
  spec["iterations"] = 1;
  spec["device"] = "auto";
  const json job = d.run_job("ppo", spec);
  const int64_t id = job["id"];
  CHECK(d.logged(id, gpu ? "device: cuda (" : "device: cpu (auto: "));
  CHECK(d.metric(id, "kl").front().second == 0.0);
  CHECK(d.metric(id, "ratio").front().second == 1.0);
  spec["device"] = "cuda";
  spec["output"] = "ppo-cuda";
  const auto r = d.d.post("/v1/jobs", {{"kind", "ppo"}, {"spec", spec}});
  INFO(r.text);
  if (gpu) {
    REQUIRE(r.status / 100 == 2);
    const int64_t cid = r.body["id"].get<int64_t>();
    const json j = d.wait_final(cid);
    CHECK(j["state"] == "succeeded");
    CHECK(d.logged(cid, "device: cuda ("));
    CHECK(d.metric(cid, "kl").front().second == 0.0);
    CHECK(d.metric(cid, "ratio").front().second == 1.0);
  } else {
    CHECK(r.status == 400);
    CHECK_THAT(r.body["error"]["message"].get<std::string>(),
               Catch::Contains("field 'device'") && Catch::Contains(wb::llama::cuda_unavailable()));
  }
}

TEST_CASE("wb train ppo --set submits a ppo job named ppo-<id> and follows it to the end", "[rlhf][ppo][integration][cli]") {
  RlDaemon d;
  const sfttest::WbRun run = sfttest::run_wb(
      d.socket(), "train ppo --set model=base --set adapter=sft --set helpfulness=rm-h --set safety=rm-s "
                  "--set dataset=prompts --set iterations=2 --set batch=2 --set max_new_tokens=4 --follow");
  INFO(run.out);
  CHECK(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("submitted ppo job"));
  const std::string marker = "submitted ppo job ";
  const auto at = run.out.find(marker);
  REQUIRE(at != std::string::npos);
  const int64_t id = std::stoll(run.out.substr(at + marker.size()));
  CHECK(d.d.job(id)["kind"] == "ppo");
  CHECK_THAT(run.out, Catch::Contains("(output ppo-" + std::to_string(id) + ")"));
  CHECK(d.record("adapter", "ppo-" + std::to_string(id)).is_object());
}
