// Gradient checks of the hand-written backward against central finite differences, in double,
// on a tiny GQA model (4 heads over 2 kv heads) with untied embeddings and packed sequences of
// different lengths under a loss mask. Every entry of every trainable tensor is checked.
#include <catch2/catch.hpp>

#include "test_grad_common.h"

using namespace wbtest;

namespace {

constexpr double kTol = 1e-5;
constexpr int kSamples = 1 << 30;  // every entry of every tensor (the model is tiny)

Model<double> base_model(uint64_t seed) {
  Model<double> m;
  m.config = tiny_config();
  m.weights = Weights<double>::random(m.config, seed, 0.2);  // larger than 0.02: nonlinear regime
  return m;
}

LoraConfig all_modules_lora(double dropout = 0.0, bool rslora = false) {
  LoraConfig lc;
  lc.r = 3;
  lc.lora_alpha = 6.0;
  lc.lora_dropout = dropout;
  lc.use_rslora = rslora;
  lc.target_modules = all_lora_modules();
  return lc;
}

// skip: a tensor left out of the finite-difference check (one whose gradient is exactly zero
// by construction, checked separately: there the central difference is pure round-off).
GradCheckResult run_check(Model<double>& m, const LossSpec& spec, const Batch& batch,
                          ForwardOptions opts, int samples = kSamples,
                          const std::string& skip = "") {
  Workspace<double> ws;
  Gradients<double> g = Gradients<double>::for_model(m);
  g.zero();
  eval_loss(m, batch, spec, opts, ws, &g);
  auto params = parameters(m, g);
  std::erase_if(params, [&](const Param<double>& p) { return p.name == skip; });
  Workspace<double> ws2;
  return grad_check(params, [&] { return eval_loss(m, batch, spec, opts, ws2, nullptr); },
                    samples);
}

}  // namespace

TEST_CASE("LoRA A/B on all seven modules match finite differences (GQA, packed, masked)", "[grad]") {
  Model<double> m = base_model(11);
  m.lora = LoraAdapter<double>::init(m.config, all_modules_lora(), 5);
  randomize_b(*m.lora, 99, 0.2);
  m.trainable.lora = true;
  const LmBatch lb = lm_batch({5, 3, 4}, m.config.vocab_size);
  LossSpec spec{&lb, {}, {}};
  const GradCheckResult r = run_check(m, spec, lb.batch, {});
  INFO(r.worst);
  CHECK(r.checked == m.lora->numel());
  CHECK(r.max_rel < kTol);
}

TEST_CASE("rsLoRA scaling and LoRA dropout with a fixed mask match finite differences", "[grad]") {
  Model<double> m = base_model(12);
  m.lora = LoraAdapter<double>::init(m.config, all_modules_lora(0.3, true), 6);
  randomize_b(*m.lora, 7, 0.2);
  m.trainable.lora = true;
  const LmBatch lb = lm_batch({6, 2}, m.config.vocab_size, 3);
  ForwardOptions opts;
  opts.train = true;
  opts.dropout_seed = 1234;
  LossSpec spec{&lb, {}, {}};
  const GradCheckResult r = run_check(m, spec, lb.batch, opts);
  INFO(r.worst);
  CHECK(r.max_rel < kTol);

  // Dropout really acts: another seed changes the loss; train=false removes it.
  Workspace<double> ws;
  const double l1 = eval_loss(m, lb.batch, spec, opts, ws, nullptr);
  opts.dropout_seed = 99;
  const double l2 = eval_loss(m, lb.batch, spec, opts, ws, nullptr);
  opts.train = false;
  const double l3 = eval_loss(m, lb.batch, spec, opts, ws, nullptr);
  CHECK(l1 != l2);
  CHECK(l1 != l3);
}

TEST_CASE("full training: every base weight matches finite differences", "[grad]") {
  Model<double> m = base_model(13);
  m.trainable.full = true;
  const LmBatch lb = lm_batch({4, 7}, m.config.vocab_size, 5);
  LossSpec spec{&lb, {}, {}};
  const GradCheckResult r = run_check(m, spec, lb.batch, {});
  INFO(r.worst);
  CHECK(r.checked == m.weights.numel());
  CHECK(r.max_rel < kTol);
}

TEST_CASE("full training with tied embeddings sums both uses of embed_tokens", "[grad]") {
  Model<double> m;
  m.config = tiny_config();
  m.config.tie_word_embeddings = true;
  m.weights = Weights<double>::random(m.config, 21, 0.2);
  m.trainable.full = true;
  const LmBatch lb = lm_batch({5, 3}, m.config.vocab_size, 9);
  LossSpec spec{&lb, {}, {}};
  const GradCheckResult r = run_check(m, spec, lb.batch, {});
  INFO(r.worst);
  CHECK(r.max_rel < kTol);
}

TEST_CASE("ranking loss through the scalar head (+ LoRA) reads each sequence's last real token", "[grad]") {
  Model<double> m = base_model(14);
  m.lora = LoraAdapter<double>::init(m.config, all_modules_lora(), 8);
  randomize_b(*m.lora, 17, 0.2);
  m.head = ScalarHead<double>::random(m.config.hidden_size, 3, 0.5);
  m.head->bias.data[0] = 0.1;
  m.trainable.lora = true;
  m.trainable.head = true;
  // Four right-padded sequences (pad id 0): last real token is not the last row.
  Batch b = Batch::pack({tokens_for(1, 6, 37), tokens_for(2, 6, 37), tokens_for(3, 5, 37),
                         tokens_for(4, 5, 37)});
  b.last_index = {3, 6 + 5, 12 + 2, 17 + 4};
  for (int row : {4, 5, 12 + 3, 12 + 4}) b.tokens[row] = 0;
  LossSpec spec{nullptr, {{0, 1}, {2, 3}}, {1.0, 1.0 / 3.0}};
  const GradCheckResult r = run_check(m, spec, b, {}, kSamples, "score.bias");
  INFO(r.worst);
  CHECK(r.max_rel < kTol);
  {  // the bias cancels in r_chosen - r_rejected: its gradient is exactly zero
    Workspace<double> ws;
    Gradients<double> g = Gradients<double>::for_model(m);
    g.zero();
    eval_loss(m, b, spec, {}, ws, &g);
    CHECK(g.head->bias.data[0] == 0.0);
    CHECK(g.head->weight.data[0] != 0.0);
  }

  // Changing a pad token after the last real token leaves the scores unchanged.
  Workspace<double> ws;
  ForwardOptions o;
  o.logits = false;
  o.head = true;
  forward(m, b, ws, o);
  const std::vector<double> before(ws.head_values.begin(), ws.head_values.begin() + 4);
  b.tokens[5] = 9;
  forward(m, b, ws, o);
  for (int s = 0; s < 4; ++s) CHECK(ws.head_values[s] == before[s]);
}

TEST_CASE("head-only training gets head gradients and no others", "[grad]") {
  Model<double> m = base_model(15);
  m.head = ScalarHead<double>::random(m.config.hidden_size, 4, 0.5);
  m.trainable.head = true;
  Gradients<double> g = Gradients<double>::for_model(m);
  CHECK_FALSE(g.full.has_value());
  CHECK_FALSE(g.lora.has_value());
  REQUIRE(g.head.has_value());
  Batch b = Batch::pack({tokens_for(5, 4, 37), tokens_for(6, 3, 37)});
  LossSpec spec{nullptr, {{0, 1}}, {0.0}};
  const GradCheckResult r = run_check(m, spec, b, {}, kSamples, "score.bias");
  INFO(r.worst);
  CHECK(r.checked == 16);
  CHECK(r.max_rel < kTol);
}

TEST_CASE("per-layer recomputation gives bit-identical gradients", "[grad]") {
  Model<double> m = base_model(16);
  m.lora = LoraAdapter<double>::init(m.config, all_modules_lora(0.2), 9);
  randomize_b(*m.lora, 5, 0.2);
  m.head = ScalarHead<double>::random(m.config.hidden_size, 5, 0.5);
  m.trainable = {true, true, true};
  const LmBatch lb = lm_batch({5, 3, 6}, m.config.vocab_size, 11);
  LossSpec spec{&lb, {{0, 2}}, {0.5}};
  ForwardOptions opts;
  opts.train = true;
  opts.dropout_seed = 77;
  Workspace<double> w1, w2;
  Gradients<double> g1 = Gradients<double>::for_model(m), g2 = Gradients<double>::for_model(m);
  g1.zero();
  g2.zero();
  const double l1 = eval_loss(m, lb.batch, spec, opts, w1, &g1);
  opts.recompute = true;
  const double l2 = eval_loss(m, lb.batch, spec, opts, w2, &g2);
  CHECK(l1 == l2);
  CHECK(w2.acts.size() == 1);
  CHECK(w1.acts.size() == static_cast<size_t>(m.config.num_hidden_layers));
  auto p1 = parameters(m, g1);
  auto p2 = parameters(m, g2);
  REQUIRE(p1.size() == p2.size());
  int64_t differing = 0, total = 0, nonzero = 0;
  for (size_t i = 0; i < p1.size(); ++i)
    for (int64_t j = 0; j < p1[i].numel; ++j) {
      differing += p1[i].grad[j] != p2[i].grad[j];
      nonzero += p1[i].grad[j] != 0.0;
      ++total;
    }
  CHECK(differing == 0);
  CHECK(nonzero > total / 2);
}

TEST_CASE("gradients accumulate across backward calls", "[grad]") {
  Model<double> m = base_model(17);
  m.lora = LoraAdapter<double>::init(m.config, all_modules_lora(), 1);
  randomize_b(*m.lora, 2, 0.2);
  m.trainable.lora = true;
  const LmBatch lb = lm_batch({4, 4}, m.config.vocab_size, 2);
  LossSpec spec{&lb, {}, {}};
  Workspace<double> ws;
  Gradients<double> g1 = Gradients<double>::for_model(m), g2 = Gradients<double>::for_model(m);
  g1.zero();
  g2.zero();
  eval_loss(m, lb.batch, spec, {}, ws, &g1);
  eval_loss(m, lb.batch, spec, {}, ws, &g2);
  eval_loss(m, lb.batch, spec, {}, ws, &g2);
  auto p1 = parameters(m, g1);
  auto p2 = parameters(m, g2);
  for (size_t i = 0; i < p1.size(); ++i)
    for (int64_t j = 0; j < p1[i].numel; ++j) CHECK(p2[i].grad[j] == Approx(2 * p1[i].grad[j]).epsilon(1e-12));
}

TEST_CASE("backward refuses a workspace without a forward kept for backward", "[grad]") {
  Model<double> m = base_model(18);
  m.trainable.full = true;
  Gradients<double> g = Gradients<double>::for_model(m);
  Workspace<double> ws;
  std::vector<double> dl(8 * 37);
  CHECK_THROWS_AS(backward<double>(m, ws, dl.data(), nullptr, g), std::logic_error);
  forward(m, Batch::pack({tokens_for(1, 8, 37)}), ws, ForwardOptions{});
  CHECK_THROWS_AS(backward<double>(m, ws, dl.data(), nullptr, g), std::logic_error);
}

TEST_CASE("backward_hidden: a gradient on every row's hidden state matches finite differences", "[grad]") {
  // loss = sum_i,d c[i,d] * hidden[i,d] (a head read at every row) + the LM loss; both enter at once.
  Model<double> m = base_model(17);
  m.trainable.full = true;
  const LmBatch lb = lm_batch({4, 5}, m.config.vocab_size, 9);
  const int64_t N = lb.batch.n_tokens(), D = m.config.hidden_size;
  std::vector<double> c(static_cast<size_t>(N * D));
  fill_normal(c, 4242, 1.0);
  auto eval = [&](Workspace<double>& ws, Gradients<double>* g) {
    ForwardOptions o;
    o.logits = true;
    o.for_backward = g != nullptr;
    forward(m, lb.batch, ws, o);
    std::vector<double> dlogits(ws.logits.size());
    double loss = token_cross_entropy<double>(ws.logits.data(), N, m.config.vocab_size, lb.targets, lb.mask,
                                              dlogits.data());
    for (size_t i = 0; i < c.size(); ++i) loss += c[i] * ws.hidden[i];
    if (g) backward_hidden<double>(m, ws, dlogits.data(), nullptr, c.data(), *g);
    return loss;
  };
  Workspace<double> ws;
  Gradients<double> g = Gradients<double>::for_model(m);
  g.zero();
  eval(ws, &g);
  auto params = parameters(m, g);
  Workspace<double> ws2;
  const GradCheckResult r = grad_check(params, [&] { return eval(ws2, nullptr); }, kSamples);
  INFO(r.worst);
  CHECK(r.checked == m.weights.numel());
  CHECK(r.max_rel < kTol);

  forward(m, lb.batch, ws, ForwardOptions{.logits = true, .for_backward = true});
  CHECK_THROWS_WITH(backward_hidden<double>(m, ws, nullptr, nullptr, nullptr, g), Catch::Contains("dhidden"));
}
