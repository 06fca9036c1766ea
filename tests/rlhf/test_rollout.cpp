// Rollouts over one tiny base: K seeded answers per prompt from the batched decoder; the old
// log-probs of the policy and the reference and the values recomputed by the training forward;
// both reward models' scores and the gate, all adapters over the same base.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include "rlhf_tiny.h"
#include "wb/llama/head_scorer.h"
#include "wb/rlhf/ppo_model.h"
#include "wb/rlhf/rollout.h"

using namespace rlhftest;
using namespace wb::rlhf;

TEST_CASE("Rollout samples K seeded answers per prompt with the policy adapter", "[rollout]") {
  const Model<float> base = tiny_base(101);
  const auto policy = moved_lora(base.config, 102);
  const auto ps = prompts(3, 4, base.config.vocab_size, 103);
  SamplingConfig sc;
  sc.samples_per_prompt = 3;
  sc.temperature = 1.0;
  sc.max_new_tokens = 6;
  sc.seed = 7;
  const auto a = sample_responses(base, &policy, ps, sc);
  REQUIRE(a.size() == 9);
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].prompt == static_cast<int64_t>(i / 3));
    CHECK(a[i].sample == static_cast<int64_t>(i % 3));
    CHECK(!a[i].tokens.empty());
    CHECK(static_cast<int64_t>(a[i].tokens.size()) <= sc.max_new_tokens + (a[i].eos ? 1 : 0));
    if (a[i].eos) CHECK(a[i].tokens.back() == base.config.eos_token_id);
  }
  // The same seed and round give the same answers; another round other answers.
  const auto again = sample_responses(base, &policy, ps, sc);
  const auto next = sample_responses(base, &policy, ps, sc, 1);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(again[i].tokens == a[i].tokens);
    differ += next[i].tokens != a[i].tokens;
  }
  CHECK(differ > 0);
  // Answers to the same prompt differ from each other (own seeds).
  CHECK((a[0].tokens != a[1].tokens || a[1].tokens != a[2].tokens));
  // The policy's adapter is used: the base alone samples something else.
  const auto plain = sample_responses(base, nullptr, ps, sc);
  int differ_base = 0;
  for (size_t i = 0; i < a.size(); ++i) differ_base += plain[i].tokens != a[i].tokens;
  CHECK(differ_base > 0);

  // A prompt must leave room for one token and EOS in the context (64 here).
  auto long_prompts = ps;
  long_prompts[1].tokens.assign(63, 4);
  CHECK_THROWS_WITH(sample_responses(base, &policy, long_prompts, sc), Catch::Contains("prompt 1 of 63 tokens"));
  long_prompts[1].tokens.assign(62, 4);
  for (const auto& r : sample_responses(base, &policy, long_prompts, sc))
    if (r.prompt == 1) CHECK(r.tokens.size() == 1);  // one token (EOS included) fits

  sc.samples_per_prompt = 0;
  CHECK_THROWS_WITH(sample_responses(base, &policy, ps, sc), Catch::Contains("samples_per_prompt"));
}

TEST_CASE("Rollout recomputes log-probs and values by the training forward and scores both reward models", "[rollout]") {
  const Model<float> base = tiny_base(111);
  const auto policy = moved_lora(base.config, 112);
  const auto reference = moved_lora(base.config, 114);  // a named frozen reference (the SFT adapter kept)
  const auto value = moved_lora(base.config, 116);
  const auto value_head = ScalarHead<float>::random(base.config.hidden_size, 117, 0.3);
  const auto help_adapter = moved_lora(base.config, 118);
  const auto help_head = ScalarHead<float>::random(base.config.hidden_size, 119, 0.5);
  const auto safe_head = ScalarHead<float>::random(base.config.hidden_size, 120, 2.0);
  auto ps = prompts(4, 3, base.config.vocab_size, 121);
  ps[1].unsafe = true;
  RolloutModels models{&policy, &reference, &value, &value_head, {&help_adapter, &help_head}, {nullptr, &safe_head}};
  SamplingConfig sc;
  sc.samples_per_prompt = 2;
  sc.temperature = 0.8;
  sc.max_new_tokens = 5;
  sc.seed = 3;
  RewardGateConfig gate;
  Workspace<float> ws;
  const Rollout ro = make_rollout(base, models, ps, sc, gate, 3, ws);
  REQUIRE(ro.items.size() == 8);
  CHECK(ro.chunk == 3);

  // The sampled answers are the sampler's own (same seeds).
  const auto sampled = sample_responses(base, &policy, ps, sc);
  // Rewards: each reward model through the engine's scorer, the gate on top.
  std::vector<std::vector<int32_t>> seqs;
  for (const auto& it : ro.items) {
    auto s = ps[it.response.prompt].tokens;
    s.insert(s.end(), it.response.tokens.begin(), it.response.tokens.end());
    seqs.push_back(s);
  }
  const auto h = wb::llama::score_head(base, &help_adapter, help_head, seqs);
  const auto s = wb::llama::score_head(base, nullptr, safe_head, seqs);
  int gated_to_safety = 0;
  for (size_t i = 0; i < ro.items.size(); ++i) {
    const RolloutItem& it = ro.items[i];
    CHECK(it.response.tokens == sampled[i].tokens);
    CHECK(it.scores.helpfulness == Approx(h[i]).epsilon(1e-5));
    CHECK(it.scores.safety == Approx(s[i]).epsilon(1e-5));
    const bool use_safety = ps[it.response.prompt].unsafe || sigmoid(it.scores.safety) < 0.15;
    CHECK(it.scores.combined == (use_safety ? it.scores.safety : it.scores.helpfulness));
    gated_to_safety += use_safety;
    // Log-probs, reference log-probs and values: one sequence at a time through the same forward.
    const ResponseBatch one = ResponseBatch::make({ps[it.response.prompt].tokens}, {it.response.tokens});
    Workspace<float> w1;
    const auto lp = response_logprobs<float>(base, one, w1, &policy, sc.temperature);
    const auto lr = response_logprobs<float>(base, one, w1, &reference, sc.temperature);
    const auto v = response_values<float>(base, one, w1, &value, value_head);
    REQUIRE(it.logp.size() == it.response.tokens.size());
    for (size_t t = 0; t < lp.size(); ++t) {
      CHECK(it.logp[t] == Approx(lp[t]).epsilon(1e-4));
      CHECK(it.logp_ref[t] == Approx(lr[t]).epsilon(1e-4));
      CHECK(it.values[t] == Approx(v[t]).epsilon(1e-4).margin(1e-5));
      CHECK(it.logp[t] < 0);
    }
    CHECK(it.entropy > 0);
  }
  CHECK(gated_to_safety >= 2);  // the unsafe prompt's two answers at least
  // The policy and the reference are different adapters over the same base: their log-probs differ.
  CHECK(ro.items[0].logp != ro.items[0].logp_ref);

  RolloutModels no_head = models;
  no_head.helpfulness.head = nullptr;
  CHECK_THROWS_WITH(make_rollout(base, no_head, ps, sc, gate, 3, ws), Catch::Contains("helpfulness reward model"));
}
