// Integration: the reward job through the real daemon + plugins on the small suite. A tiny model
// (random base, LoRA + head) learns the helpfulness pairs whose gap is clear (rating 3) and the
// safety pairs (mixed 3:1 with helpfulness data, as the paper's safety RM was); per-rating and
// per-safety-label accuracies are reported as metrics; POST /v1/rewards/score scores with the
// registered adapter exactly as the job's own evaluation did.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "reward_fixture.h"

using namespace rewardtest;
namespace fs = std::filesystem;

namespace {

json adapter_record(RewardDaemon& d, const std::string& name) {
  const json list = d.d.get("/v1/adapters").body["adapters"];  // a copy: the reply is a temporary
  for (const auto& a : list)
    if (a["name"] == name) return a;
  FAIL("adapter " << name << " not registered");
  return {};
}

// On the CPU on every machine (these check the CPU path bit for bit; tests/reward/gpu compares
// the GPU with it).
const json kCommon = {{"model", "base"}, {"max_steps", 120}, {"batch", 8}, {"lr", 3e-3}, {"rank", 8},
                      {"max_len", 64},   {"eval_every", 60}, {"seed", 3},     {"device", "cpu"}};

}  // namespace

TEST_CASE("helpfulness and safety reward models reach 0.9 held-out accuracy, and the score route agrees", "[reward][integration]") {
  RewardDaemon d;
  d.import("help", "preference", "pref_helpful_train.jsonl");
  d.import("help-eval", "preference", "pref_helpful_eval.jsonl");
  d.import("safe", "preference", "pref_safety_train.jsonl");
  d.import("safe-eval", "preference", "pref_safety_eval.jsonl");
  d.init_tiny("base");

  json hs = kCommon;
  hs.update({{"head", "helpfulness"}, {"datasets", {{{"name", "help"}}}}, {"eval_datasets", {"help-eval"}},
             {"output", "rm-help"}});
  const json hj = d.run_job("reward", hs);
  const int64_t hid = hj["id"];
  std::printf("helpfulness RM, held-out accuracy by rating:");
  for (int k = 0; k < 4; ++k) {
    const std::string r = std::to_string(k);
    CHECK(d.last_metric(hid, "eval_count_rating_" + r) == 25);  // the small suite: 100 eval pairs, 4 levels
    std::printf(" %d: %.3f", k, d.last_metric(hid, "eval_accuracy_rating_" + r));
  }
  std::printf(" overall %.3f\n", d.last_metric(hid, "eval_accuracy"));
  CHECK(d.last_metric(hid, "eval_accuracy_rating_3") >= 0.9);  // clear pairs ("significantly better")
  CHECK(d.metric(hid, "eval_accuracy").front().first == 0);    // reported before training too
  CHECK(d.metric(hid, "eval_loss").back().second < d.metric(hid, "eval_loss").front().second);
  CHECK(d.metric(hid, "train_loss").size() == 120);
  CHECK(d.metric(hid, "eval_accuracy_safety_both_safe").empty());  // safety labels only for the safety head

  const json rec = adapter_record(d, "rm-help");
  CHECK(rec["kind"] == "reward_helpfulness");
  CHECK(rec["base_model"] == "base");
  const fs::path dir = rec["path"].get<std::string>();
  for (const char* f : {"adapter_config.json", "adapter_model.safetensors", "score.safetensors", "reward_config.json"})
    CHECK(fs::exists(dir / f));

  json ss = kCommon;
  ss.update({{"head", "safety"},
             {"datasets", {{{"name", "safe"}, {"ratio", 3}}, {{"name", "help"}, {"ratio", 1}}}},
             {"eval_datasets", {"safe-eval"}},
             {"centering", 0.01},
             {"output", "rm-safe"}});
  const json sj = d.run_job("reward", ss);
  const int64_t sid = sj["id"];
  const double safe_acc = d.last_metric(sid, "eval_accuracy");
  std::printf("safety RM: held-out accuracy %.3f, chosen_safe %.3f, both_safe %.3f, unsafe prompts %.3f\n", safe_acc,
              d.last_metric(sid, "eval_accuracy_safety_chosen_safe"), d.last_metric(sid, "eval_accuracy_safety_both_safe"),
              d.last_metric(sid, "eval_accuracy_safety_prompts"));
  CHECK(safe_acc >= 0.9);
  CHECK(d.last_metric(sid, "eval_count_safety_chosen_safe") + d.last_metric(sid, "eval_count_safety_both_safe") == 80);
  CHECK(adapter_record(d, "rm-safe")["kind"] == "reward_safety");

  // Item form: the correct, well-formed answer outscores no answer.
  auto r = d.d.post("/v1/rewards/score", {{"rm", "rm-help"},
                                          {"items", {{{"prompt", "What is 12 + 7?"}, {"response", "Answer: 19"}},
                                                     {{"prompt", "What is 12 + 7?"}, {"response", "I do not know."}}}}});
  INFO(r.text);
  REQUIRE(r.status == 200);
  REQUIRE(r.body["scores"].size() == 2);
  CHECK(r.body["scores"][0].get<double>() > r.body["scores"][1].get<double>());
  CHECK(r.body["kind"] == "reward_helpfulness");

  // Dataset form over the held-out pairs: the registered adapter scores exactly as the job did.
  r = d.d.post("/v1/rewards/score", {{"rm", "rm-help"}, {"dataset", "help-eval"}, {"device", "cpu"}});
  INFO(r.text.substr(0, 400));
  REQUIRE(r.status == 200);
  CHECK(r.body["n"] == 100);
  CHECK(r.body["rows"].size() == 100);
  CHECK(r.body["accuracy"].get<double>() == Approx(d.last_metric(hid, "eval_accuracy")).margin(1e-9));
  CHECK(r.body["by_rating"]["3"]["accuracy"].get<double>() ==
        Approx(d.last_metric(hid, "eval_accuracy_rating_3")).margin(1e-9));
  r = d.d.post("/v1/rewards/score", {{"rm", "rm-safe"}, {"dataset", "safe-eval"}, {"limit", 5}});
  CHECK(r.status == 200);
  CHECK(r.body["rows"].size() == 5);
  CHECK(r.body["rows"][0].contains("safety"));

  // Errors: status and a message naming what is wrong.
  auto expect = [&](const json& body, int status, const std::string& needle) {
    auto e = d.d.post("/v1/rewards/score", body);
    INFO(body.dump() << " -> " << e.text);
    CHECK(e.status == status);
    CHECK(e.text.find(needle) != std::string::npos);
  };
  expect({{"rm", "nope"}, {"items", {{{"prompt", "a"}, {"response", "b"}}}}}, 404, "unknown adapter 'nope'");
  expect({{"rm", "rm-help"}, {"items", {{{"prompt", "a"}}}}}, 400, "items[0].response");
  expect({{"rm", "rm-help"}, {"items", {{{"prompt", "a"}, {"response", "b"}}}}, {"bogus", 1}}, 400, "bogus");
  expect({{"rm", "rm-help"}}, 400, "give exactly one of items or dataset");
  expect({{"rm", "rm-help"}, {"dataset", "nope"}}, 404, "unknown dataset 'nope'");
  expect({{"rm", "rm-help"}, {"dataset", "help-eval"}, {"split", "dev"}}, 400, "split");
  expect({{"rm", "rm-help"}, {"items", {{{"prompt", "a"}, {"response", "b"}}}}, {"limit", 3}}, 400, "limit");
  auto raw = d.d.post_raw("/v1/rewards/score", "{not json");
  CHECK(raw.status == 400);
}

TEST_CASE("reward specs are checked at submission, naming the field", "[reward][integration]") {
  RewardDaemon d;
  d.import("help", "preference", "pref_helpful_train.jsonl", 0.2);
  d.import("chat", "sft", "sft_train.jsonl");
  d.init_tiny("base");
  const json good = {{"model", "base"}, {"head", "helpfulness"}, {"datasets", {"help"}}, {"output", "rm"}, {"max_steps", 2}};
  auto expect = [&](json spec, const std::string& needle) {
    auto r = d.d.post("/v1/jobs", {{"kind", "reward"}, {"spec", spec}});
    INFO(spec.dump() << " -> " << r.text);
    CHECK(r.status == 400);
    CHECK(r.text.find(needle) != std::string::npos);
  };
  auto with = [&](const json& patch) {
    json s = good;
    s.update(patch);
    return s;
  };
  expect(with({{"lrr", 1}}), "field 'lrr': unknown field");
  expect(with({{"head", "honesty"}}), "field 'head'");
  expect(with({{"margins", {0, 1}}}), "field 'margins'");
  expect(with({{"margins", {0, 1, 2, -1}}}), "field 'margins'");
  expect(with({{"datasets", {"nope"}}}), "unknown dataset 'nope'");
  expect(with({{"datasets", {"chat"}}}), "needs a preference dataset");
  expect(with({{"datasets", {{{"name", "help"}, {"ratio", 0}}}}}), "datasets[0].ratio");
  expect(with({{"datasets", {{{"name", "help"}, {"weight", 1}}}}}), "datasets[0].weight");
  expect(with({{"model", "nope"}}), "unknown model 'nope'");
  expect(with({{"centering", -1}}), "field 'centering'");
  expect(with({{"epochs", 2}}), "give epochs or max_steps");
  json no_head = good;
  no_head.erase("head");
  expect(no_head, "field 'head': is required");

  // Zero margins are accepted (disabled), and the dataset's own eval split is held out.
  const json j = d.run_job("reward", with({{"margins", {0, 0, 0, 0}}, {"max_steps", 4}}));
  CHECK(d.last_metric(j["id"], "eval_count_rating_0") + d.last_metric(j["id"], "eval_count_rating_3") > 0);
  expect(good, "adapter 'rm' already exists");
}

TEST_CASE("kill -9 mid reward training: the restart resumes and ends with the uninterrupted adapter", "[reward][integration][recovery]") {
  RewardDaemon d;
  d.import("help", "preference", "pref_helpful_train.jsonl", 0.1);
  d.init_tiny("base");
  json spec = {{"model", "base"}, {"head", "helpfulness"}, {"datasets", {"help"}}, {"max_steps", 60}, {"batch", 8},
               {"max_len", 64},   {"checkpoint_every", 3},     {"seed", 5},          {"output", "resumed"},
               {"device", "cpu"}};
  const int64_t id = d.submit("reward", spec);
  json mid;
  REQUIRE(wbtest::eventually([&] {
    mid = d.d.job(id);
    return mid["checkpoint"].is_string();
  }, std::chrono::seconds(90)));
  d.d.process.kill9();
  INFO(mid.dump());
  REQUIRE(mid["state"] == "running");
  d.d.process.start();
  const json j = d.wait_final(id);
  REQUIRE(j["state"] == "succeeded");
  bool resumed = false;
  for (auto& l : d.logs(id)) resumed = resumed || l.find("resumed from") != std::string::npos;
  CHECK(resumed);
  std::set<int64_t> steps;
  for (auto& [s, v] : d.metric(id, "train_loss")) steps.insert(s);
  CHECK(steps.size() == 60);

  spec["output"] = "straight";
  d.run_job("reward", spec);
  auto bytes = [&](const std::string& name) {
    std::string out;
    const fs::path dir = adapter_record(d, name)["path"].get<std::string>();
    for (const char* f : {"adapter_model.safetensors", "score.safetensors"}) {
      std::ifstream in(dir / f, std::ios::binary);
      out += std::string(std::istreambuf_iterator<char>(in), {});
    }
    return out;
  };
  CHECK(bytes("resumed") == bytes("straight"));
}

TEST_CASE("concurrent score calls share the cached model and agree with a lone call", "[reward][integration]") {
  RewardDaemon d;
  d.import("help", "preference", "pref_helpful_train.jsonl");
  d.init_tiny("base");
  d.run_job("reward", {{"model", "base"}, {"head", "helpfulness"}, {"datasets", {"help"}}, {"max_steps", 3},
                       {"max_len", 64}, {"output", "rm"}});
  const json body = {{"rm", "rm"},
                     {"items", {{{"prompt", "What is 3 + 4?"}, {"response", "Answer: 7"}},
                                {{"prompt", "Reverse the word kelo."}, {"response", "Answer: olek"}}}}};
  const auto lone = d.d.post("/v1/rewards/score", body);
  REQUIRE(lone.status == 200);
  std::vector<std::thread> threads;
  std::vector<wbtest::Reply> replies(8);
  for (size_t i = 0; i < replies.size(); ++i)
    threads.emplace_back([&, i] { replies[i] = wbtest::to_reply(wbtest::http(d.d.socket(), "POST", "/v1/rewards/score", body.dump())); });
  for (auto& t : threads) t.join();
  for (const auto& r : replies) {
    INFO(r.text);
    CHECK(r.status == 200);
    REQUIRE(r.body["scores"].size() == 2);
    for (size_t k = 0; k < 2; ++k)  // same inputs; BLAS threading may only change rounding
      CHECK(r.body["scores"][k].get<double>() == Approx(lone.body["scores"][k].get<double>()).margin(1e-5));
  }
}
