// Trainer: each trainable set (LoRA, head, full) with its loss learns a learnable pattern;
// accumulation equals one larger batch; callbacks, cancellation and bad batches behave.
#include <catch2/catch.hpp>

#include <cstring>

#include "runtime_test_util.h"
#include "wb/llama/model.h"
#include "wb/llama/trainer.h"

using namespace wb::llama;
using namespace wb::llama::testing;

namespace {

LoraConfig lora_cfg(double dropout = 0.0) {
  LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 8;
  lc.lora_dropout = dropout;
  lc.target_modules = {LoraModule::Q, LoraModule::K, LoraModule::V, LoraModule::O,
                       LoraModule::Gate, LoraModule::Up, LoraModule::Down};
  return lc;
}

TrainerConfig base_cfg(int64_t steps, double lr) {
  TrainerConfig tc;
  tc.total_steps = steps;
  tc.schedule.kind = ScheduleKind::kCosine;
  tc.schedule.lr = lr;
  tc.schedule.min_lr = lr / 10;
  tc.schedule.warmup_steps = 2;
  tc.adamw.weight_decay = 0.01;
  tc.adamw.max_grad_norm = 1.0;
  tc.seed = 11;
  return tc;
}

}  // namespace

TEST_CASE("LoRA training with masked CE lowers the loss, the base stays frozen", "[trainer]") {
  const LlamaConfig c = small_config();
  Model<float> m = Model<float>::random(c, 1);
  // A wider init than HF's 0.02 so the frozen LM head can express confident predictions (with
  // std 0.02 and dim 32 every logit stays below ~0.6 whatever LoRA does upstream).
  m.weights = Weights<float>::random(c, 1, 0.25);
  m.lora = LoraAdapter<float>::init(c, lora_cfg(0.05), 2);
  m.trainable.lora = true;
  const std::vector<float> base_q = m.weights.layers[0].q_proj.data;
  InMemoryDataSource data(lm_batches(c, 4, 2, 16, 3, /*masked_prefix=*/4));
  Trainer t(m, data, base_cfg(40, 5e-2));
  std::vector<StepStats> log;
  t.on_step = [&](const StepStats& s) { log.push_back(s); };
  CHECK(t.run() == 40);
  REQUIRE(log.size() == 40);
  CHECK(log.front().step == 1);
  CHECK(log.front().lr == Approx(2.5e-2));  // warm-up 1/2 of the peak
  CHECK(log.back().lr == Approx(5e-3));     // cosine reached min_lr
  CHECK(log.front().tokens == 32);
  CHECK(log.front().grad_norm > 0);
  CHECK(log.back().loss < 0.7 * log.front().loss);
  CHECK(m.weights.layers[0].q_proj.data == base_q);
}

TEST_CASE("full training lowers the loss and moves every weight", "[trainer]") {
  const LlamaConfig c = small_config(/*tied=*/true);
  Model<float> m = Model<float>::random(c, 4);
  m.trainable.full = true;
  const std::vector<float> emb = m.weights.embed_tokens.data;
  InMemoryDataSource data(lm_batches(c, 2, 2, 16, 5));
  Trainer t(m, data, base_cfg(30, 3e-3));
  double first = 0, last = 0;
  t.on_step = [&](const StepStats& s) { (s.step == 1 ? first : last) = s.loss; };
  t.run();
  CHECK(last < 0.7 * first);
  CHECK(m.weights.embed_tokens.data != emb);
}

TEST_CASE("reward head + LoRA with the ranking loss learns to prefer the chosen ending", "[trainer]") {
  const LlamaConfig c = small_config();
  Model<float> m = Model<float>::random(c, 6);
  m.lora = LoraAdapter<float>::init(c, lora_cfg(), 7);
  m.head = ScalarHead<float>::random(c.hidden_size, 8);
  m.trainable.lora = true;
  m.trainable.head = true;
  InMemoryDataSource data(ranking_batches(c, 4, 3, 8, 9));
  TrainerConfig tc = base_cfg(40, 1e-2);
  tc.loss = LossKind::kRanking;
  Trainer t(m, data, tc);
  double first = 0, last = 0;
  t.on_step = [&](const StepStats& s) { (s.step == 1 ? first : last) = s.loss; };
  t.run();
  CHECK(first > 0.5);
  CHECK(last < 0.5 * first);
}

TEST_CASE("accumulating two micro-batches equals one batch holding both", "[trainer]") {
  const LlamaConfig c = small_config();
  auto parts = lm_batches(c, 2, 2, 12, 21);
  // The combined batch packs the four sequences of both micro-batches (equal token counts, so the
  // mean of the two means is the mean over all tokens).
  TrainBatch both;
  std::vector<std::vector<int32_t>> seqs;
  for (const auto& p : parts)
    for (int64_t s = 0; s < p.batch.n_seqs(); ++s)
      seqs.emplace_back(p.batch.tokens.begin() + p.batch.seq_begin(s),
                        p.batch.tokens.begin() + p.batch.seq_begin(s) + p.batch.seq_len(s));
  both.batch = Batch::pack(seqs);
  for (const auto& p : parts) {
    both.targets.insert(both.targets.end(), p.targets.begin(), p.targets.end());
    both.mask.insert(both.mask.end(), p.mask.begin(), p.mask.end());
  }
  auto run = [&](std::vector<TrainBatch> batches, int64_t micro) {
    Model<float> m = Model<float>::random(c, 12);
    m.trainable.full = true;
    InMemoryDataSource data(std::move(batches));
    TrainerConfig tc = base_cfg(1, 1e-3);
    tc.schedule.warmup_steps = 0;
    tc.micro_batches = micro;
    Trainer t(m, data, tc);
    const StepStats s = t.step();
    return std::make_pair(s, m.weights.layers[1].down_proj.data);
  };
  const auto [acc, w_acc] = run(parts, 2);
  const auto [one, w_one] = run({both}, 1);
  CHECK(acc.tokens == one.tokens);
  CHECK(acc.loss == Approx(one.loss).epsilon(1e-5));
  CHECK(acc.grad_norm == Approx(one.grad_norm).epsilon(1e-4));
  double max_diff = 0;
  for (size_t i = 0; i < w_acc.size(); ++i) max_diff = std::max(max_diff, double(std::fabs(w_acc[i] - w_one[i])));
  CHECK(max_diff < 1e-6);
}

TEST_CASE("cancellation stops within one step and a bad batch changes nothing", "[trainer]") {
  const LlamaConfig c = small_config();
  Model<float> m = Model<float>::random(c, 13);
  m.trainable.full = true;
  InMemoryDataSource data(lm_batches(c, 2, 1, 8, 14));
  Trainer t(m, data, base_cfg(50, 1e-3));
  int calls = 0;
  t.cancelled = [&] { return calls >= 3; };
  t.on_step = [&](const StepStats&) { ++calls; };
  CHECK(t.run() == 3);
  CHECK_FALSE(t.finished());

  auto bad = lm_batches(c, 1, 1, 8, 15);
  bad[0].batch.tokens[2] = static_cast<int32_t>(c.vocab_size + 5);  // token out of range
  InMemoryDataSource bad_data(bad);
  const std::vector<float> before = m.weights.norm.data;
  Trainer t2(m, bad_data, base_cfg(5, 1e-3));
  CHECK_THROWS_AS(t2.step(), std::invalid_argument);
  CHECK(t2.steps_done() == 0);
  CHECK(m.weights.norm.data == before);
  CHECK(bad_data.position() == nlohmann::json({{"epoch", 0}, {"index", 0}}));

  auto mism = lm_batches(c, 1, 1, 8, 16);
  mism[0].targets.pop_back();
  InMemoryDataSource mism_data(mism);
  Trainer t3(m, mism_data, base_cfg(5, 1e-3));
  CHECK_THROWS_WITH(t3.step(), Catch::Contains("targets"));
}

TEST_CASE("trainer rejects configurations that cannot train", "[trainer]") {
  const LlamaConfig c = small_config();
  Model<float> m = Model<float>::random(c, 17);
  InMemoryDataSource data(lm_batches(c, 1, 1, 8, 18));
  CHECK_THROWS_WITH(Trainer(m, data, base_cfg(5, 1e-3)), Catch::Contains("nothing trainable"));
  m.trainable.full = true;
  TrainerConfig tc = base_cfg(5, 1e-3);
  tc.loss = LossKind::kRanking;
  CHECK_THROWS_WITH(Trainer(m, data, tc), Catch::Contains("head"));
  tc = base_cfg(0, 1e-3);
  CHECK_THROWS_WITH(Trainer(m, data, tc), Catch::Contains("total_steps"));
  // The optimizer's settings are part of the trainer config: its validate() refuses them, so
  // every trainer built on it does (the GPU trainer had trained bad ones to NaN).
  tc = base_cfg(5, 1e-3);
  tc.adamw.eps = 0;
  CHECK_THROWS_WITH(tc.validate(), Catch::Contains("adamw: eps"));
  tc.adamw.eps = 1e-8;
  tc.adamw.beta1 = 1.0;
  CHECK_THROWS_WITH(tc.validate(), Catch::Contains("adamw: beta1"));
  tc.adamw.beta1 = 0.9;
  tc.adamw.weight_decay = -0.1;
  CHECK_THROWS_WITH(tc.validate(), Catch::Contains("adamw: weight_decay"));
  CHECK_THROWS_WITH(Trainer(m, data, tc), Catch::Contains("adamw: weight_decay"));
  CHECK_THROWS_WITH(InMemoryDataSource({}), Catch::Contains("no batches"));
  CHECK_THROWS(data.seek(nlohmann::json{{"epoch", 0}, {"index", 9}}));
  CHECK_THROWS(data.seek(nlohmann::json("x")));
}
