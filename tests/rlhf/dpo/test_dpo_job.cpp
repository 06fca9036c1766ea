// Integration: the dpo job through a real daemon with the rlhf plugin — it runs to its end with
// the DPO loss falling and the accuracy rising on a separable preference set, its adapter is
// served over the derived base; reference "adapter" starts at log ratios 0 and loss log 2; kill -9
// mid-job resumes from the checkpoint and ends with the uninterrupted run's adapter; cancel stops
// it; bad specs are refused naming the field with nothing stored; `wb train dpo --set` submits.
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include <catch2/catch.hpp>

#include "dpo_fixture.h"
#include "wb/llama/device.h"

using namespace dpotest;
namespace fs = std::filesystem;

namespace {

std::string file_bytes(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("dpo job: loss falls and accuracy rises, and the adapter is served over the derived base", "[rlhf][dpo][integration]") {
  DpoDaemon d;
  const json job = d.run_job("dpo", {{"model", "base"}, {"adapter", "sft"}, {"dataset", "prefs"}, {"beta", 0.5},
                                     {"lr", 5e-3}, {"epochs", 6}, {"batch_size", 4}, {"rank", 4}, {"seed", 2},
                                     {"output", "dpo-a"}});
  const int64_t id = job["id"];
  // Mode merged: the policy starts as the reference exactly.
  const auto loss = d.metric(id, "train_loss");
  REQUIRE(loss.size() >= 30);  // 6 epochs over the train split (about 36 pairs, 4 per step)
  CHECK(loss.front().second == Approx(std::log(2.0)).epsilon(1e-12));
  CHECK(d.metric(id, "chosen_log_ratio").front().second == 0.0);
  CHECK(d.metric(id, "accuracy").front().second == 0.0);
  // Held-out pairs: loss falls, accuracy rises, the chosen answers gain against the rejected.
  const auto eval_loss = d.metric(id, "eval_loss");
  const auto eval_acc = d.metric(id, "eval_accuracy");
  REQUIRE(eval_loss.size() == 2);
  CHECK(eval_loss.front().second == Approx(std::log(2.0)).epsilon(1e-12));
  CHECK(eval_loss.back().second < eval_loss.front().second - 0.1);
  CHECK(eval_acc.front().second == 0.0);
  CHECK(eval_acc.back().second >= 0.9);
  CHECK(d.last_metric(id, "eval_chosen_log_ratio") > d.last_metric(id, "eval_rejected_log_ratio"));
  CHECK(d.logged(id, "derived base 'dpo-a-base'"));

  // The result: a policy adapter over the registered derived base, which serving accepts.
  const json a = d.record("adapter", "dpo-a");
  REQUIRE(a.is_object());
  CHECK(a["base_model"] == "dpo-a-base");
  CHECK(a["kind"] == "policy");
  CHECK(a["rank"] == 4);
  const json base = d.record("model", "dpo-a-base");
  REQUIRE(base.is_object());
  CHECK(base["dtype"] == "f32");
  auto r = d.d.post("/v1/serving", {{"model", "dpo-a-base"}});
  INFO(r.text);
  REQUIRE(r.status == 200);
  r = d.d.post("/v1/adapters/dpo-a/load", json::object());
  INFO(r.text);
  CHECK(r.status == 200);
  r = d.d.post("/v1/completions", {{"model", "dpo-a"}, {"prompt", "What is 2 plus 3?"}, {"max_tokens", 4}});
  INFO(r.text);
  CHECK(r.status == 200);
}

TEST_CASE("dpo job with reference adapter: the first step has log ratios 0 and loss log 2", "[rlhf][dpo][integration]") {
  DpoDaemon d;
  const json job = d.run_job("dpo", {{"model", "base"}, {"adapter", "sft"}, {"dataset", "prefs"}, {"reference", "adapter"},
                                     {"max_steps", 3}, {"batch_size", 4}, {"lr", 5e-3}, {"output", "dpo-b"}});
  const int64_t id = job["id"];
  CHECK(d.metric(id, "train_loss").front().second == Approx(std::log(2.0)).epsilon(1e-12));
  CHECK(d.metric(id, "chosen_log_ratio").front().second == 0.0);
  CHECK(d.metric(id, "rejected_log_ratio").front().second == 0.0);
  CHECK(d.metric(id, "margin").front().second == 0.0);
  CHECK(d.metric(id, "chosen_log_ratio").back().second != 0.0);  // the policy moved
  // The policy adapter continues the SFT adapter over the original base; no derived base.
  const json a = d.record("adapter", "dpo-b");
  REQUIRE(a.is_object());
  CHECK(a["base_model"] == "base");
  CHECK(a["rank"] == d.record("adapter", "sft")["rank"]);
  CHECK(d.record("model", "dpo-b-base").is_null());
}

TEST_CASE("kill -9 mid-DPO: restart resumes from the checkpoint and ends with the uninterrupted adapter", "[rlhf][dpo][integration][recovery]") {
  DpoDaemon d;
  const int steps = 240;
  json spec = {{"model", "base"}, {"adapter", "sft"}, {"dataset", "prefs"}, {"max_steps", steps}, {"batch_size", 8},
               {"checkpoint_every", 5}, {"lr", 2e-3}, {"seed", 9}, {"rank", 4}, {"output", "resumed"}};
  const int64_t id = d.submit("dpo", spec);
  json mid;
  REQUIRE(wbtest::eventually([&] {
    mid = d.d.job(id);
    return mid["checkpoint"].is_string();
  }, std::chrono::seconds(120)));
  d.d.process.kill9();
  INFO(mid.dump());
  REQUIRE(mid["state"] == "running");  // killed mid-run, not after the end

  d.d.process.start();
  const json j = d.wait_final(id, std::chrono::seconds(240));
  REQUIRE(j["state"] == "succeeded");
  CHECK(d.logged(id, "resumed from"));
  CHECK(d.logged(id, "derived base 'resumed-base' already registered"));
  std::set<int64_t> seen;
  for (auto& [step, v] : d.metric(id, "train_loss")) seen.insert(step);
  CHECK(seen.size() == static_cast<size_t>(steps));  // every step reported, none lost

  spec["output"] = "straight";
  d.run_job("dpo", spec, std::chrono::seconds(240));
  const fs::path resumed = d.record("adapter", "resumed")["path"].get<std::string>();
  const fs::path straight = d.record("adapter", "straight")["path"].get<std::string>();
  const std::string bytes = file_bytes(resumed / "adapter_model.safetensors");
  CHECK(!bytes.empty());
  CHECK(bytes == file_bytes(straight / "adapter_model.safetensors"));
}

TEST_CASE("dpo job: cancel stops it and registers no adapter", "[rlhf][dpo][integration]") {
  DpoDaemon d;
  const int64_t id = d.submit("dpo", {{"model", "base"}, {"dataset", "prefs"}, {"max_steps", 100000}, {"batch_size", 2},
                                      {"output", "never"}});
  REQUIRE(wbtest::eventually([&] { return d.metric(id, "train_loss").size() >= 2; }, std::chrono::seconds(60)));
  CHECK(d.d.del("/v1/jobs/" + std::to_string(id)).status == 200);
  const json j = d.wait_final(id, std::chrono::seconds(60));
  CHECK(j["state"] == "cancelled");
  CHECK(d.record("adapter", "never").is_null());
}

TEST_CASE("bad dpo specs are refused at submission naming the field, with nothing stored", "[rlhf][dpo][integration]") {
  DpoDaemon d;
  d.init_tiny("other", 2);
  d.run_job("sft", {{"model", "other"}, {"dataset", "chat"}, {"method", "lora"}, {"rank", 2}, {"batch_size", 2},
                    {"context_length", 64}, {"max_steps", 1}, {"eval_batches", 1}, {"output", "other-sft"}});
  const json jobs_before = d.d.get("/v1/jobs").body;
  const json models_before = d.d.get("/v1/models").body;
  const json adapters_before = d.d.get("/v1/adapters").body;
  const json good = {{"model", "base"}, {"adapter", "sft"}, {"dataset", "prefs"}, {"output", "ok"}};
  auto refused = [&](const json& spec, const std::string& needle) {
    auto r = d.d.post("/v1/jobs", {{"kind", "dpo"}, {"spec", spec}});
    INFO(spec.dump() << " -> " << r.text);
    CHECK(r.status == 400);
    CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains(needle));
  };
  json s = good;
  s["beta"] = -0.1;
  refused(s, "field 'beta'");
  s = good;
  s.erase("dataset");
  refused(s, "field 'dataset'");
  s = good;
  s["dataset"] = "missing";
  refused(s, "field 'dataset': unknown dataset 'missing'");
  s = good;
  s["dataset"] = "chat";
  refused(s, "field 'dataset': 'chat' is a sft dataset; dpo needs a preference dataset");
  s = good;
  s["adapter"] = "other-sft";
  refused(s, "field 'adapter': adapter 'other-sft' was trained on model 'other', not 'base'");
  s = good;
  s["model"] = "nope";
  refused(s, "field 'model': unknown model 'nope'");
  s = good;
  s["reference"] = "pretrained";
  refused(s, "field 'reference'");
  s = good;
  s["reference"] = "adapter";
  s["rank"] = 4;
  refused(s, "field 'rank'");
  s = good;
  s.erase("adapter");
  s["reference"] = "adapter";
  refused(s, "field 'adapter'");
  s = good;
  s["output"] = "sft";
  refused(s, "field 'output': adapter 'sft' already exists");
  s = good;
  s["max_seq_len"] = 4096;
  refused(s, "field 'max_seq_len'");
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
  s["betta"] = 0.2;
  refused(s, "field 'betta'");
  CHECK(d.d.get("/v1/jobs").body == jobs_before);
  CHECK(d.d.get("/v1/models").body == models_before);
  CHECK(d.d.get("/v1/adapters").body == adapters_before);
}

TEST_CASE("dpo job: device auto runs where it can and cuda is accepted exactly where a device answers", "[rlhf][dpo][integration][device]") {
  DpoDaemon d;
  const bool gpu = wb::llama::cuda_unavailable().empty();
  const json job = d.run_job("dpo", {{"model", "base"}, {"dataset", "prefs"}, {"max_steps", 1}, {"batch_size", 2},
                                     {"device", "auto"}, {"output", "dpo-auto"}});
  const int64_t id = job["id"];
  CHECK(d.logged(id, gpu ? "device: cuda (" : "device: cpu (auto: "));
  const auto r = d.d.post("/v1/jobs", {{"kind", "dpo"},
                                      {"spec", {{"model", "base"}, {"dataset", "prefs"}, {"max_steps", 1},
                                                {"batch_size", 2}, {"device", "cuda"}, {"output", "dpo-cuda"}}}});
  INFO(r.text);
  if (gpu) {
    REQUIRE(r.status / 100 == 2);
    const json j = d.wait_final(r.body["id"].get<int64_t>());
    CHECK(j["state"] == "succeeded");
    CHECK(d.logged(r.body["id"].get<int64_t>(), "device: cuda ("));
  } else {
    CHECK(r.status == 400);
    CHECK_THAT(r.body["error"]["message"].get<std::string>(),
               Catch::Contains("field 'device'") && Catch::Contains(wb::llama::cuda_unavailable()));
  }
}

TEST_CASE("wb train dpo --set submits a dpo job named dpo-<id> and follows it to the end", "[rlhf][dpo][integration][cli]") {
  DpoDaemon d;
  const sfttest::WbRun run = sfttest::run_wb(
      d.socket(), "train dpo --set model=base --set adapter=sft --set dataset=prefs --set max_steps=2 --follow");
  INFO(run.out);
  CHECK(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("submitted dpo job"));
  const json jobs = d.d.get("/v1/jobs").body["jobs"];
  int64_t id = -1;
  for (const auto& j : jobs)
    if (j["kind"] == "dpo") id = j["id"];
  REQUIRE(id > 0);
  CHECK_THAT(run.out, Catch::Contains("(output dpo-" + std::to_string(id) + ")"));
  CHECK(d.record("adapter", "dpo-" + std::to_string(id)).is_object());
  CHECK(d.record("model", "dpo-" + std::to_string(id) + "-base").is_object());
}
