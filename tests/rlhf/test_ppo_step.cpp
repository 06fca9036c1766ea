// One PPO iteration on a tiny model built by the test: the first iteration has KL 0 and ratio 1,
// the base and the reference never change across iterations (bit for bit), and the mean reward of
// a reward head that prefers a token rises.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include "rlhf_tiny.h"
#include "wb/llama/head_scorer.h"
#include "wb/rlhf/ppo_model.h"
#include "wb/rlhf/ppo_step.h"

using namespace rlhftest;
using namespace wb::rlhf;

namespace {

PpoConfig small_config() {
  PpoConfig c;
  c.sampling.samples_per_prompt = 2;
  c.sampling.temperature = 1.0;
  c.sampling.max_new_tokens = 4;
  c.sampling.seed = 11;
  c.mini_batch = 4;
  c.lr = 1e-2;
  c.value_lr = 1e-2;
  return c;
}

}  // namespace

TEST_CASE("PPO first iteration: KL 0 and ratio 1 with a fresh policy over the base", "[ppo]") {
  Model<float> base = tiny_base(201);
  const auto help = head_preferring(base, 5, 2.0);
  const auto safe = constant_head(base.config.hidden_size, 4.0f);
  const auto ps = prompts(3, 3, base.config.vocab_size, 202);
  PpoTrainer t(base, PpoModels{nullptr, {nullptr, &help}, {nullptr, &safe}},
               LoraAdapter<float>::init(base.config, small_lora(), 203), small_config());
  const PpoIterationStats s = t.iterate(ps);
  CHECK(s.iteration == 1);
  CHECK(s.kl == 0.0);
  CHECK(s.first_ratio == 1.0);
  CHECK(s.response_length > 0);
  CHECK(s.entropy > 0);
  CHECK(std::fabs(s.reward_whitened) < 1e-9);
  CHECK(s.generation_seconds > 0);
  CHECK(s.training_seconds > 0);
  // The policy moved (B no longer 0) and the base carries nothing afterwards.
  double bsum = 0;
  t.policy().for_each([&](const std::string& name, const Tensor<float>& x) {
    if (name.find("lora_B") != std::string::npos)
      for (float v : x.data) bsum += std::fabs(v);
  });
  CHECK(bsum > 0);
  CHECK(!base.lora);
  CHECK(!base.head);
  // Second iteration: the policy now differs from the reference, and the first update still sees
  // exactly the old log-probs (recomputed over the same slice): ratio 1.
  const PpoIterationStats s2 = t.iterate(ps);
  CHECK(s2.kl != 0.0);
  CHECK(s2.first_ratio == 1.0);
}

TEST_CASE("PPO never changes the base or the reference across iterations", "[ppo]") {
  Model<float> base = tiny_base(211);
  const Weights<float> base_before = base.weights;
  const auto reference = moved_lora(base.config, 212);  // a named frozen reference
  const LoraAdapter<float> reference_before = reference;
  const auto help = head_preferring(base, 7, 2.0);
  const auto safe = constant_head(base.config.hidden_size, 4.0f);
  const auto ps = prompts(2, 3, base.config.vocab_size, 213);
  const ResponseBatch probe = ResponseBatch::make({{1, 4, 9}}, {{5, 6, 7}});
  Workspace<float> ws;
  const auto ref_lp = response_logprobs<float>(base, probe, ws, &reference, 1.0);
  PpoTrainer t(base, PpoModels{&reference, {nullptr, &help}, {nullptr, &safe}}, reference, small_config());
  for (int i = 0; i < 3; ++i) t.iterate(ps);
  base.weights.for_each([&](const std::string& name, const Tensor<float>& x) {
    bool same = false;
    base_before.for_each([&](const std::string& n2, const Tensor<float>& y) {
      if (n2 == name) same = x.data == y.data;
    });
    INFO(name);
    CHECK(same);
  });
  reference.for_each([&](const std::string& name, const Tensor<float>& x) {
    bool same = false;
    reference_before.for_each([&](const std::string& n2, const Tensor<float>& y) {
      if (n2 == name) same = x.data == y.data;
    });
    INFO(name);
    CHECK(same);
  });
  CHECK(response_logprobs<float>(base, probe, ws, &reference, 1.0) == ref_lp);
  // ...while the policy (initialised as a copy of the reference) has moved away from it.
  CHECK(response_logprobs<float>(base, probe, ws, &t.policy(), 1.0) != ref_lp);
}

namespace {

// The exact expected reward of the policy's one-token answers, averaged over the prompts:
// sum over the vocabulary of pi(v | prompt) * R(prompt + v), every term through the engine.
double expected_reward(const Model<float>& base, const LoraAdapter<float>& policy, const ScalarHead<float>& head,
                       const std::vector<Prompt>& ps) {
  const int32_t V = static_cast<int32_t>(base.config.vocab_size);
  double er = 0;
  for (const auto& pr : ps) {
    std::vector<std::vector<int32_t>> seqs, prompt_copies, answers;
    for (int32_t v = 0; v < V; ++v) {
      auto q = pr.tokens;
      q.push_back(v);
      seqs.push_back(q);
      prompt_copies.push_back(pr.tokens);
      answers.push_back({v});
    }
    const auto r = wb::llama::score_head(base, nullptr, head, seqs);
    Workspace<float> ws;
    const auto lp = response_logprobs<float>(base, ResponseBatch::make(prompt_copies, answers), ws, &policy, 1.0);
    for (int32_t v = 0; v < V; ++v) er += std::exp(lp[v]) * r[v] / static_cast<double>(ps.size());
  }
  return er;
}

}  // namespace

TEST_CASE("PPO raises the mean reward of a reward head that prefers a token", "[ppo]") {
  // A contextual bandit: one-token answers over a vocabulary of 8, rewarded by a head over the
  // base fitted to prefer sequences ending in token 5 (TRL-like settings: 4 epochs per rollout).
  Model<float> base = tiny_base(221, 8);
  const auto help = head_preferring(base, 5, 3.0);
  const auto safe = constant_head(base.config.hidden_size, 4.0f);
  const auto ps = prompts(4, 3, base.config.vocab_size, 222);
  PpoConfig c = small_config();
  c.sampling.samples_per_prompt = 8;
  c.sampling.max_new_tokens = 1;
  c.mini_batch = 8;
  c.epochs = 4;
  c.lr = 3e-2;
  PpoTrainer t(base, PpoModels{nullptr, {nullptr, &help}, {nullptr, &safe}},
               LoraAdapter<float>::init(base.config, small_lora(4), 223), c);
  const double expected_before = expected_reward(base, t.policy(), help, ps);
  std::vector<double> rewards;
  for (int i = 0; i < 12; ++i) {
    const auto s = t.iterate(ps);
    rewards.push_back(s.reward_raw);
    CHECK(std::isfinite(s.policy_loss));
    CHECK(std::isfinite(s.value_loss));
  }
  const double expected_after = expected_reward(base, t.policy(), help, ps);
  const double first = (rewards[0] + rewards[1] + rewards[2]) / 3;
  const double last = (rewards[9] + rewards[10] + rewards[11]) / 3;
  INFO("sampled mean reward, first 3 iterations " << first << ", last 3 " << last);
  INFO("exact expected reward before " << expected_before << ", after " << expected_after);
  CHECK(last > first + 1.0);
  CHECK(expected_after > expected_before + 1.5);
}

TEST_CASE("PPO refuses a bad config naming the field", "[ppo]") {
  Model<float> base = tiny_base(231);
  const auto help = head_preferring(base, 5, 2.0);
  const auto safe = constant_head(base.config.hidden_size, 4.0f);
  auto make = [&](PpoConfig c) {
    PpoTrainer t(base, PpoModels{nullptr, {nullptr, &help}, {nullptr, &safe}},
                 LoraAdapter<float>::init(base.config, small_lora(), 1), c);
  };
  PpoConfig c = small_config();
  c.beta = -0.1;
  CHECK_THROWS_WITH(make(c), Catch::Contains("beta"));
  c = small_config();
  c.sampling.samples_per_prompt = 0;
  CHECK_THROWS_WITH(make(c), Catch::Contains("samples_per_prompt"));
  c = small_config();
  c.lambda = 2;
  CHECK_THROWS_WITH(make(c), Catch::Contains("lambda"));
  CHECK_THROWS_WITH((PpoTrainer(base, PpoModels{nullptr, {nullptr, nullptr}, {nullptr, &safe}},
                                LoraAdapter<float>::init(base.config, small_lora(), 1), small_config())),
                    Catch::Contains("helpfulness"));
}
