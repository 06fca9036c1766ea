// PPO through a tiny real model in double: the clipped policy loss's gradient w.r.t. the policy
// LoRA and the clipped value loss's gradient w.r.t. the value LoRA and its per-token head match
// finite differences; a fresh policy LoRA (B = 0) has log-probs equal to the reference's bit for
// bit, so the first batch has ratio 1 and KL 0.
#include <catch2/catch.hpp>

#include <cmath>

#include "test_grad_common.h"
#include "wb/rlhf/ppo_model.h"

using namespace wbtest;
using wb::rlhf::ResponseBatch;

namespace {

ResponseBatch tiny_rollout(int64_t vocab) {
  std::vector<std::vector<int32_t>> prompts, responses;
  const std::vector<int64_t> prompt_lens{3, 2, 4}, answer_lens{4, 1, 3};
  for (size_t s = 0; s < prompt_lens.size(); ++s) {
    prompts.push_back(tokens_for(300 + s, prompt_lens[s], vocab));
    responses.push_back(tokens_for(400 + s, answer_lens[s], vocab));
  }
  return ResponseBatch::make(prompts, responses);
}

LoraConfig lora_cfg() {
  LoraConfig lc;
  lc.r = 2;
  lc.lora_alpha = 4.0;
  lc.target_modules = all_lora_modules();
  return lc;
}

}  // namespace

TEST_CASE("PPO response batch maps each response token to the row that predicts it", "[ppo]") {
  const ResponseBatch rb = ResponseBatch::make({{1, 2, 3}, {4}}, {{5, 6}, {7, 8, 9}});
  CHECK(rb.batch.tokens == std::vector<int32_t>{1, 2, 3, 5, 6, 4, 7, 8, 9});
  CHECK(rb.rows == std::vector<int32_t>{2, 3, 5, 6, 7});
  CHECK(rb.targets == std::vector<int32_t>{5, 6, 7, 8, 9});
  CHECK(rb.offsets == std::vector<int64_t>{0, 2, 5});
  CHECK_THROWS_WITH(ResponseBatch::make({{1}}, {{}}), Catch::Contains("response 0 is empty"));
}

TEST_CASE("PPO first batch: a fresh policy LoRA gives ratio 1 and KL 0 against the reference", "[ppo]") {
  Model<double> m;
  m.config = tiny_config();
  m.weights = Weights<double>::random(m.config, 51, 0.2);
  m.lora = LoraAdapter<double>::init(m.config, lora_cfg(), 52);  // B = 0
  m.trainable.lora = true;
  const ResponseBatch rb = tiny_rollout(m.config.vocab_size);
  Workspace<double> ws;
  const double T = 0.7;
  const auto ref = wb::rlhf::response_logprobs<double>(m, rb, ws, nullptr, T);
  const auto old = wb::rlhf::response_logprobs<double>(m, rb, ws, &*m.lora, T);
  REQUIRE(old.size() == 8);
  for (size_t i = 0; i < old.size(); ++i) CHECK(old[i] == ref[i]);  // KL term exactly 0
  std::vector<double> adv{0.5, -1, 2, 0.25, -0.75, 1, 0.1, -0.3};
  Gradients<double> g = Gradients<double>::for_model(m);
  g.zero();
  const auto r = wb::rlhf::policy_forward_backward<double>(m, rb, old, adv, 0.2, T, ws, &g);
  CHECK(r.ratio_mean == 1.0);
  CHECK(r.approx_kl == 0.0);
  CHECK(r.clip_fraction == 0.0);
  double mean_adv = 0;
  for (double a : adv) mean_adv += a / 8.0;
  CHECK(r.loss == -mean_adv);
}

TEST_CASE("PPO policy loss gradient through a tiny model's LoRA matches finite differences in double", "[ppo][grad]") {
  Model<double> m;
  m.config = tiny_config();
  m.weights = Weights<double>::random(m.config, 61, 0.2);
  m.lora = LoraAdapter<double>::init(m.config, lora_cfg(), 62);
  randomize_b(*m.lora, 63, 0.2);
  m.trainable.lora = true;
  const ResponseBatch rb = tiny_rollout(m.config.vocab_size);
  Workspace<double> ws;
  const double T = 0.8;
  const auto cur = wb::rlhf::response_logprobs<double>(m, rb, ws, &*m.lora, T);
  // Old log-probs put some ratios inside the clip range and some far outside it (no kink nearby).
  const std::vector<double> offset{0.05, -0.5, 0.4, -0.03, 0.6, 0.02, -0.45, 0.1};
  const std::vector<double> adv{1.0, -0.8, 0.6, 1.4, -1.1, 0.3, 0.9, -0.5};
  std::vector<double> old(cur.size());
  for (size_t i = 0; i < cur.size(); ++i) old[i] = cur[i] - offset[i];
  Gradients<double> g = Gradients<double>::for_model(m);
  g.zero();
  double entropy = 0;
  const auto r = wb::rlhf::policy_forward_backward<double>(m, rb, old, adv, 0.2, T, ws, &g, &entropy);
  CHECK(r.clip_fraction > 0);
  CHECK(r.clip_fraction < 1);
  CHECK(entropy > 0);
  CHECK(entropy < std::log(double(m.config.vocab_size)));
  auto params = parameters(m, g);
  Workspace<double> ws2;
  const GradCheckResult gc = grad_check(params, [&] {
    return wb::rlhf::policy_forward_backward<double>(m, rb, old, adv, 0.2, T, ws2, nullptr).loss;
  }, 1 << 30);
  INFO(gc.worst);
  CHECK(gc.checked == m.lora->numel());
  CHECK(gc.max_rel < 1e-5);
}

TEST_CASE("PPO value loss gradient through a value LoRA and per-token head matches finite differences", "[ppo][grad]") {
  Model<double> m;
  m.config = tiny_config();
  m.weights = Weights<double>::random(m.config, 71, 0.2);
  m.lora = LoraAdapter<double>::init(m.config, lora_cfg(), 72);
  randomize_b(*m.lora, 73, 0.2);
  m.head = ScalarHead<double>::random(m.config.hidden_size, 74, 0.5);
  m.head->bias.data[0] = 0.3;
  m.trainable.lora = true;
  m.trainable.head = true;
  const ResponseBatch rb = tiny_rollout(m.config.vocab_size);
  Workspace<double> ws;
  const auto cur = wb::rlhf::response_values<double>(m, rb, ws, &*m.lora, *m.head);
  // The values must be those of the head on the rows: compare one by hand.
  {
    wb::llama::ForwardOptions o;
    o.logits = false;
    forward(m, rb.batch, ws, o);
    const int64_t D = m.config.hidden_size;
    double v = m.head->bias.data[0];
    for (int64_t d = 0; d < D; ++d) v += m.head->weight.data[d] * ws.hidden[rb.rows[3] * D + d];
    CHECK(cur[3] == Approx(v).epsilon(1e-14));
  }
  const std::vector<double> offset{0.05, 0.5, -0.6, 0.1, 0.5, -0.5, 0.0, 0.7};
  const std::vector<double> to_return{1.0, 1.0, -1.0, -0.3, -1.0, 0.8, 0.4, 1.2};
  std::vector<double> old(cur.size()), ret(cur.size());
  for (size_t i = 0; i < cur.size(); ++i) {
    old[i] = cur[i] - offset[i];
    ret[i] = cur[i] + to_return[i];
  }
  Gradients<double> g = Gradients<double>::for_model(m);
  g.zero();
  const auto r = wb::rlhf::value_forward_backward<double>(m, rb, old, ret, 0.2, ws, &g);
  CHECK(r.clip_fraction > 0);
  CHECK(r.clip_fraction < 1);
  auto params = parameters(m, g);
  Workspace<double> ws2;
  const GradCheckResult gc = grad_check(params, [&] {
    return wb::rlhf::value_forward_backward<double>(m, rb, old, ret, 0.2, ws2, nullptr).loss;
  }, 1 << 30);
  INFO(gc.worst);
  CHECK(gc.checked == m.lora->numel() + m.config.hidden_size + 1);
  CHECK(gc.max_rel < 1e-5);
}
