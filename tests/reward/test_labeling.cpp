// Integration: label.pair (through the labeling route GET /v1/comparisons/next, which calls it)
// and the label_synthetic job, where the suite's exact checker stands in for a human labeler.
#include <cstdlib>
#include <set>

#include <catch2/catch.hpp>

#include "reward_fixture.h"
#include "wb/suite/checker.h"
#include "wb/suite/tasks.h"

using namespace rewardtest;

TEST_CASE("label.pair samples two responses with the chat template, and errors name the missing model or adapter", "[reward][integration][label]") {
  RewardDaemon d;
  d.import("prompts", "prompt", "prompts_train.jsonl");
  d.import("help", "preference", "pref_helpful_train.jsonl");
  d.init_tiny("base");
  // Any LoRA adapter of the base can sample; a 2-step reward adapter is the cheapest to make.
  d.run_job("reward", {{"model", "base"}, {"head", "helpfulness"}, {"datasets", {"help"}}, {"max_steps", 2},
                       {"max_len", 64}, {"output", "lora"}});

  const std::string q = "/v1/comparisons/next?prompts=prompts&into=labels&model=base&max_tokens=8&seed=4";
  auto r = d.d.get(q + "&a=lora&temperatures=0,1");
  INFO(r.text);
  REQUIRE(r.status == 200);
  // The route shuffles sides; the names say which model produced which response.
  std::set<std::string> names = {r.body["model_a"].get<std::string>(), r.body["model_b"].get<std::string>()};
  CHECK(names == std::set<std::string>{"base+lora@T=0", "base@T=1"});
  CHECK(r.body["response_a"].is_string());
  CHECK(r.body["response_b"].is_string());

  // The same request samples the same pair (seeds come from the request).
  auto again = d.d.get(q + "&a=lora&temperatures=0,1");
  REQUIRE(again.status == 200);
  std::set<std::string> first = {r.body["response_a"].get<std::string>(), r.body["response_b"].get<std::string>()};
  std::set<std::string> second = {again.body["response_a"].get<std::string>(), again.body["response_b"].get<std::string>()};
  CHECK(first == second);

  auto missing_model = d.d.get("/v1/comparisons/next?prompts=prompts&into=labels&model=nope");
  CHECK(missing_model.status == 404);
  CHECK(missing_model.text.find("unknown model 'nope'") != std::string::npos);
  auto missing_adapter = d.d.get(q + "&b=ghost");
  CHECK(missing_adapter.status == 404);
  CHECK(missing_adapter.text.find("unknown adapter 'ghost'") != std::string::npos);
}

TEST_CASE("label_synthetic inserts checker-labeled comparisons by the documented rule", "[reward][integration][label]") {
  RewardDaemon d;
  d.import("prompts", "prompt", "prompts_train.jsonl");
  d.init_tiny("base");
  auto bad = d.d.post("/v1/jobs", {{"kind", "label_synthetic"},
                                   {"spec", {{"model", "base"}, {"prompts", "prompts"}, {"output", "syn"}, {"a", {{"adapter", "ghost"}}}}}});
  CHECK(bad.status == 400);
  CHECK(bad.text.find("a.adapter") != std::string::npos);
  bad = d.d.post("/v1/jobs", {{"kind", "label_synthetic"},
                              {"spec", {{"model", "base"}, {"prompts", "prompts"}, {"output", "syn"}, {"b", {{"temp", 1}}}}}});
  CHECK(bad.status == 400);
  CHECK(bad.text.find("b.temp") != std::string::npos);

  const json j = d.run_job("label_synthetic", {{"model", "base"},
                                               {"prompts", "prompts"},
                                               {"output", "syn"},
                                               {"a", {{"temperature", 0}}},
                                               {"b", {{"temperature", 1.0}}},
                                               {"limit", 24},
                                               {"batch", 8},
                                               {"max_tokens", 8},
                                               {"seed", 2}});
  const int64_t id = j["id"];
  const double pairs = d.last_metric(id, "pairs");
  CHECK(pairs + d.last_metric(id, "skipped_identical") + d.last_metric(id, "skipped_unknown") == 24);
  REQUIRE(pairs > 0);
  auto list = d.d.get("/v1/comparisons?dataset=syn&limit=100");
  REQUIRE(list.status == 200);
  CHECK(list.body["comparisons"].size() == static_cast<size_t>(pairs));
  for (const auto& c : list.body["comparisons"]) {
    INFO(c.dump());
    CHECK(c["annotator"] == "suite-checker (synthetic stand-in for a human labeler)");
    CHECK(c["source"] == "model");
    CHECK(c["model_a"] == "base@T=0");
    CHECK(c["model_b"] == "base@T=1");
    // The rule, re-derived here from the checker: rating = |grade_a - grade_b|, chosen the better.
    const std::string prompt = c["prompt"];
    auto grade = [&](const std::string& resp) {
      const auto v = wb::suite::check(prompt, resp);
      return 2 * (v.correct ? 1 : 0) + (v.format_ok ? 1 : 0);
    };
    const int ga = grade(c["response_a"]), gb = grade(c["response_b"]);
    CHECK(c["rating"] == std::abs(ga - gb));
    if (ga != gb) CHECK(c["chosen"] == (ga > gb ? "a" : "b"));
    CHECK(c["is_safety_prompt"] == wb::suite::is_unsafe_prompt(prompt));
    if (!wb::suite::is_unsafe_prompt(prompt)) CHECK(c["safety"] == "both_safe");
  }
  // The comparisons are training data at once: the dataset's rows are preference rows.
  auto ds = d.d.get("/v1/datasets/syn");
  CHECK(ds.body["kind"] == "preference");
  CHECK(ds.body["rows"] == static_cast<int64_t>(pairs));
}
