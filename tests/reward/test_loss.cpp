// The reward model's objective on a fixed tiny case, against values computed by hand:
//   loss = mean_p softplus(-(r_c - r_r - m)),  dloss/dr_c = -sigmoid(-(r_c - r_r - m)) / P = -dloss/dr_r
// plus the reward-centering penalty c * mean_p (r_c + r_r)^2 and its gradient 2c (r_c + r_r) / P,
// and the trainer's reported step loss being exactly that objective on the model's own scores.
#include <cmath>

#include <catch2/catch.hpp>

#include "wb/llama/forward.h"
#include "wb/llama/loss.h"
#include "wb/llama/trainer.h"
#include "wb/reward/preference_pairs.h"

using namespace wb::llama;
using Catch::Matchers::WithinAbs;

namespace {
// Two pairs: r_c = (1.0, 0.5), r_r = (0.5, 1.0); ratings 1 and 3 -> paper margins 1/3 and 1.
//   z_1 = 1.0 - 0.5 - 1/3 = 1/6        softplus(-1/6) = ln(1 + e^{-1/6}) = 0.6132820580996374
//   z_2 = 0.5 - 1.0 - 1   = -1.5       softplus(1.5)  = ln(1 + e^{1.5})  = 1.7014132779827524
//   loss = (0.6132820580996374 + 1.7014132779827524) / 2 = 1.157347668041195
//   dloss/dr_c1 = -sigmoid(-1/6) / 2 = -(e^{-1/6} / (1 + e^{-1/6})) / 2 = -0.22921475839160002
//   dloss/dr_c2 = -sigmoid(1.5) / 2  = -0.4087872380968218
const double rc[] = {1.0, 0.5};
const double rr[] = {0.5, 1.0};
const double margins[] = {1.0 / 3.0, 1.0};
}  // namespace

TEST_CASE("margin ranking loss and its gradient match the hand-computed values", "[reward][loss]") {
  double dc[2], dr[2];
  const double loss = ranking_loss<double>(rc, rr, margins, 2, dc, dr);
  CHECK_THAT(loss, WithinAbs(1.157347668041195, 1e-14));
  CHECK_THAT(dc[0], WithinAbs(-0.22921475839160002, 1e-14));
  CHECK_THAT(dc[1], WithinAbs(-0.4087872380968218, 1e-14));
  CHECK(dr[0] == -dc[0]);
  CHECK(dr[1] == -dc[1]);

  // The margins come from the ratings through the paper's small set.
  wb::reward::EncodedPair p1, p3;
  p1.rating = 1;
  p3.rating = 3;
  CHECK(wb::reward::pair_margin(p1, wb::reward::kPaperMargins) == Approx(1.0 / 3.0));
  CHECK(wb::reward::pair_margin(p3, wb::reward::kPaperMargins) == 1.0f);
  wb::reward::EncodedPair unrated;
  CHECK(wb::reward::pair_margin(unrated, wb::reward::kPaperMargins) == 0.0f);

  // Zero margins (disabled): softplus(-0.5) and softplus(0.5), gradients -sigmoid(-z)/2.
  const double zero[] = {0.0, 0.0};
  const double l0 = ranking_loss<double>(rc, rr, zero, 2, dc, dr);
  CHECK_THAT(l0, WithinAbs(0.7240769841801067, 1e-14));
  CHECK_THAT(dc[0], WithinAbs(-0.1887703343990727, 1e-14));
  CHECK_THAT(dc[1], WithinAbs(-0.3112296656009273, 1e-14));
  CHECK(ranking_loss<double>(rc, rr, nullptr, 2, nullptr, nullptr) == l0);

  // Central differences agree with the analytic gradient.
  const double h = 1e-6;
  for (int p = 0; p < 2; ++p) {
    double up[2] = {rc[0], rc[1]}, dn[2] = {rc[0], rc[1]};
    up[p] += h;
    dn[p] -= h;
    const double fd = (ranking_loss<double>(up, rr, margins, 2, nullptr, nullptr) -
                       ranking_loss<double>(dn, rr, margins, 2, nullptr, nullptr)) / (2 * h);
    ranking_loss<double>(rc, rr, margins, 2, dc, dr);
    CHECK_THAT(fd, WithinAbs(dc[p], 1e-9));
  }
}

TEST_CASE("reward centering adds c * mean (r_c + r_r)^2 and 2c(r_c + r_r)/P to the gradients", "[reward][loss]") {
  // r_c + r_r = 1.5 for both pairs: penalty = 0.1 * (2.25 + 2.25) / 2 = 0.225, gradient 2*0.1*1.5/2 = 0.15.
  double dc[2], dr[2];
  const double base = ranking_loss<double>(rc, rr, margins, 2, dc, dr);
  const double pen = reward_centering<double>(rc, rr, 2, 0.1, dc, dr);
  CHECK_THAT(pen, WithinAbs(0.225, 1e-15));
  CHECK_THAT(base + pen, WithinAbs(1.157347668041195 + 0.225, 1e-14));
  CHECK_THAT(dc[0], WithinAbs(-0.22921475839160002 + 0.15, 1e-14));
  CHECK_THAT(dr[0], WithinAbs(0.22921475839160002 + 0.15, 1e-14));
  CHECK_THAT(dc[1], WithinAbs(-0.4087872380968218 + 0.15, 1e-14));
  CHECK_THAT(dr[1], WithinAbs(0.4087872380968218 + 0.15, 1e-14));
}

TEST_CASE("the trainer's ranking step loss is the margin loss (+ centering) on the model's own scores", "[reward][loss]") {
  LlamaConfig c;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 2;
  c.vocab_size = 32;
  c.max_position_embeddings = 32;
  Model<float> m = Model<float>::random(c, 5);
  m.head = ScalarHead<float>::random(c.hidden_size, 6, 0.5);
  m.head->bias.data[0] = 0.25f;  // centering sees the bias; the ranking part does not
  m.trainable.head = true;

  TrainBatch tb;
  tb.batch = Batch::pack({{1, 5, 9, 2}, {1, 7, 3}, {1, 5, 8}, {1, 4, 4, 6, 2}});  // chosen 0,1; rejected 0,1
  tb.margins = {1.0f / 3.0f, 1.0f};
  Workspace<float> ws;
  ForwardOptions o;
  o.logits = false;
  o.head = true;
  forward(m, tb.batch, ws, o);
  const double r[4] = {ws.head_values[0], ws.head_values[1], ws.head_values[2], ws.head_values[3]};
  const double mg[2] = {1.0 / 3.0, 1.0};
  const double expect_rank = ranking_loss<double>(r, r + 2, mg, 2, nullptr, nullptr);
  const double expect_center = reward_centering<double>(r, r + 2, 2, 0.5, nullptr, nullptr);
  REQUIRE(expect_center > 0.01);

  for (double centering : {0.0, 0.5}) {
    Model<float> copy = m;
    InMemoryDataSource data({tb});
    TrainerConfig tc;
    tc.loss = LossKind::kRanking;
    tc.total_steps = 1;
    tc.centering = centering;
    Trainer t(copy, data, tc);
    const StepStats st = t.step();
    const double expect = expect_rank + (centering > 0 ? expect_center : 0.0);
    CHECK_THAT(st.loss, WithinAbs(expect, 1e-5));
  }
  TrainerConfig bad;
  bad.centering = -1;
  CHECK_THROWS_AS(bad.validate(), std::invalid_argument);
}
