// The PPO pieces on a fixed tiny batch equal values computed by hand in double; the policy and
// value losses' gradients match central finite differences in double; ratio = 1 (the first
// batch) gives exactly the unclipped loss.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <stdexcept>
#include <vector>

#include "wb/rlhf/ppo_math.h"

using namespace wb::rlhf;

TEST_CASE("PPO combined reward gate picks safety for unsafe prompts and low safety scores", "[ppo]") {
  const RewardGateConfig gate;  // threshold 0.15
  CHECK(gated_reward(1.0, 0.5, false, gate) == 1.0);    // sigmoid(0.5) = 0.62: helpfulness
  CHECK(gated_reward(1.0, -2.0, false, gate) == -2.0);  // sigmoid(-2) = 0.119 < 0.15: safety
  CHECK(gated_reward(1.0, 3.0, true, gate) == 3.0);     // tagged unsafe: safety
  // the threshold sits at logit(0.15) = -1.7346: just above it helpfulness decides
  CHECK(gated_reward(1.0, -1.73, false, gate) == 1.0);
  CHECK(gated_reward(1.0, -1.74, false, gate) == -1.74);
  RewardGateConfig strict;
  strict.safety_threshold = 0.7;  // configurable: sigmoid(0.5) = 0.62 < 0.7
  CHECK(gated_reward(1.0, 0.5, false, strict) == 0.5);
  strict.safety_threshold = 1.5;
  CHECK_THROWS_WITH(strict.validate(), Catch::Contains("safety_threshold"));
  CHECK_THROWS_AS(gated_reward(std::nan(""), 0, false, gate), std::invalid_argument);
}

TEST_CASE("PPO LOGIT is the inverse sigmoid of the score, clamped", "[ppo]") {
  CHECK(clamped_logit(1.0, 1e-4) == Approx(1.0).epsilon(1e-12));
  CHECK(clamped_logit(-3.5, 1e-4) == Approx(-3.5).epsilon(1e-12));
  const double bound = std::log(0.9999 / 0.0001);  // 9.2102403669758...
  CHECK(clamped_logit(20.0, 1e-4) == Approx(bound).epsilon(1e-12));
  CHECK(clamped_logit(-1e6, 1e-4) == Approx(-bound).epsilon(1e-12));
}

TEST_CASE("PPO whitening uses the batch mean and population std", "[ppo]") {
  // mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5
  const Whitened w = whiten({1, 2, 3, 6});
  CHECK(w.mean == Approx(3.0).epsilon(1e-15));
  CHECK(w.std == Approx(std::sqrt(3.5)).epsilon(1e-15));
  const double inv = 1.0 / std::sqrt(3.5 + 1e-8);
  const std::vector<double> want{-2 * inv, -1 * inv, 0, 3 * inv};
  for (size_t i = 0; i < want.size(); ++i) CHECK(w.values[i] == Approx(want[i]).epsilon(1e-14).margin(1e-15));
  CHECK(whiten({5.0}).values[0] == 0.0);
  CHECK_THROWS_AS(whiten({}), std::invalid_argument);
}

TEST_CASE("PPO per-token reward is the KL penalty plus the final reward on the last token", "[ppo]") {
  // beta 0.1: -0.1 (-1 - -1.5) = -0.05 ; 0 ; -0.1 (-0.5 - -0.25) + 2 = 2.025
  const auto r = token_rewards({-1, -2, -0.5}, {-1.5, -2, -0.25}, 2.0, 0.1);
  REQUIRE(r.size() == 3);
  CHECK(r[0] == Approx(-0.05).epsilon(1e-14));
  CHECK(r[1] == 0.0);
  CHECK(r[2] == Approx(2.025).epsilon(1e-14));
  CHECK_THROWS_WITH(token_rewards({-1}, {-1}, 0, -0.1), Catch::Contains("beta"));
  CHECK_THROWS_AS(token_rewards({-1, -2}, {-1}, 0, 0.1), std::invalid_argument);
}

TEST_CASE("PPO GAE with gamma 1 and lambda 0.95 equals the hand recursion", "[ppo]") {
  const std::vector<double> rewards{-0.05, 0, 2.025}, values{0.5, 0.4, 0.3};
  // t=2: delta = 2.025 - 0.3 = 1.725                      A = 1.725
  // t=1: delta = 0 + 0.3 - 0.4 = -0.1                     A = -0.1 + 0.95 * 1.725 = 1.53875
  // t=0: delta = -0.05 + 0.4 - 0.5 = -0.15                A = -0.15 + 0.95 * 1.53875 = 1.3118125
  const GaeResult g = gae(rewards, values, 1.0, 0.95);
  CHECK(g.advantages[2] == Approx(1.725).epsilon(1e-14));
  CHECK(g.advantages[1] == Approx(1.53875).epsilon(1e-14));
  CHECK(g.advantages[0] == Approx(1.3118125).epsilon(1e-14));
  CHECK(g.returns[0] == Approx(1.8118125).epsilon(1e-14));
  CHECK(g.returns[1] == Approx(1.93875).epsilon(1e-14));
  CHECK(g.returns[2] == Approx(2.025).epsilon(1e-14));
  // lambda = 1: returns are the reward-to-go, whatever the values
  const GaeResult mc = gae(rewards, values, 1.0, 1.0);
  CHECK(mc.returns[0] == Approx(1.975).epsilon(1e-14));
  CHECK(mc.returns[1] == Approx(2.025).epsilon(1e-14));
  CHECK_THROWS_WITH(gae(rewards, values, 1.0, 1.5), Catch::Contains("lambda"));
}

TEST_CASE("PPO clipped policy loss on a fixed batch equals the hand computation", "[ppo]") {
  const std::vector<double> old_lp{-1, -1, -1, -1};
  const std::vector<double> new_lp{-1, -1 + std::log(1.5), -1 + std::log(0.5), -1 + std::log(0.5)};
  const std::vector<double> adv{2, 1, 1, -1};
  // token 0: ratio 1:   max(-2, -2) = -2                 grad -2 * 1 / 4
  // token 1: ratio 1.5: max(-1.5, -1.2) = -1.2 clipped   grad 0
  // token 2: ratio 0.5: max(-0.5, -0.8) = -0.5           grad -1 * 0.5 / 4
  // token 3: ratio 0.5, A = -1: max(0.5, 0.8) = 0.8 clipped
  const auto r = clipped_policy_loss(new_lp, old_lp, adv, 0.2);
  CHECK(r.loss == Approx(-2.9 / 4).epsilon(1e-14));
  CHECK(r.clip_fraction == 0.5);
  CHECK(r.ratio_mean == Approx(0.875).epsilon(1e-14));
  const double l15 = std::log(1.5), l05 = std::log(0.5);
  CHECK(r.approx_kl == Approx(0.5 * (l15 * l15 + 2 * l05 * l05) / 4).epsilon(1e-14));
  CHECK(r.d_logp[0] == Approx(-0.5).epsilon(1e-14));
  CHECK(r.d_logp[1] == 0.0);
  CHECK(r.d_logp[2] == Approx(-0.125).epsilon(1e-14));
  CHECK(r.d_logp[3] == 0.0);
  CHECK_THROWS_WITH(clipped_policy_loss(new_lp, old_lp, adv, 0.0), Catch::Contains("clip"));
}

TEST_CASE("PPO first batch: ratio 1 gives exactly the unclipped loss", "[ppo]") {
  const std::vector<double> lp{-0.3, -2.5, -7.125, -0.001, -4};
  const std::vector<double> adv{0.7, -1.3, 2.5, -0.2, 0.05};
  const auto r = clipped_policy_loss(lp, lp, adv, 0.2);
  double mean_adv = 0;
  for (double a : adv) mean_adv += a / 5.0;
  CHECK(r.loss == -mean_adv);
  CHECK(r.clip_fraction == 0.0);
  CHECK(r.approx_kl == 0.0);
  CHECK(r.ratio_mean == 1.0);
  for (size_t i = 0; i < adv.size(); ++i) CHECK(r.d_logp[i] == -adv[i] / 5.0);
}

TEST_CASE("PPO clipped value loss on a fixed batch equals the hand computation", "[ppo]") {
  // token 0: v = old: 0.5 (1 - 2)^2 = 0.5                               grad (1 - 2) / 3
  // token 1: v = 1.5, old 1, R 2: (1.5-2)^2 = 0.25 < (1.2-2)^2 = 0.64    clipped, grad 0
  // token 2: v = 0.5, old 1, R 1.5: (0.5-1.5)^2 = 1 > (0.8-1.5)^2 = 0.49 grad (0.5 - 1.5) / 3
  const auto r = clipped_value_loss({1.0, 1.5, 0.5}, {1.0, 1.0, 1.0}, {2.0, 2.0, 1.5}, 0.2);
  CHECK(r.loss == Approx((0.5 + 0.32 + 0.5) / 3).epsilon(1e-14));
  CHECK(r.clip_fraction == Approx(1.0 / 3).epsilon(1e-15));
  CHECK(r.d_values[0] == Approx(-1.0 / 3).epsilon(1e-14));
  CHECK(r.d_values[1] == 0.0);
  CHECK(r.d_values[2] == Approx(-1.0 / 3).epsilon(1e-14));
}

namespace {

// Central differences of f w.r.t. each x[i]; the worst relative error against the analytic grad.
double worst_rel_error(std::vector<double> x, const std::vector<double>& grad,
                       const std::function<double(const std::vector<double>&)>& f) {
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double h = 1e-6, x0 = x[i];
    x[i] = x0 + h;
    const double up = f(x);
    x[i] = x0 - h;
    const double down = f(x);
    x[i] = x0;
    const double fd = (up - down) / (2 * h);
    const double denom = std::max({std::fabs(fd), std::fabs(grad[i]), 1e-3});
    worst = std::max(worst, std::fabs(fd - grad[i]) / denom);
  }
  return worst;
}

}  // namespace

TEST_CASE("PPO policy and value loss gradients match central finite differences in double", "[ppo][grad]") {
  // Ratios on both sides of the clip range and inside it, advantages of both signs, away from kinks.
  const std::vector<double> old_lp{-1.2, -0.4, -2.0, -3.1, -0.9, -1.7};
  const std::vector<double> new_lp{-1.0, -0.9, -2.05, -2.6, -0.85, -2.2};
  const std::vector<double> adv{1.3, -0.7, 0.4, -2.1, 0.9, 0.35};
  const auto p = clipped_policy_loss(new_lp, old_lp, adv, 0.2);
  CHECK(p.clip_fraction > 0);
  CHECK(p.clip_fraction < 1);
  const double ep = worst_rel_error(new_lp, p.d_logp, [&](const std::vector<double>& x) {
    return clipped_policy_loss(x, old_lp, adv, 0.2).loss;
  });
  CHECK(ep < 1e-5);

  const std::vector<double> old_v{0.5, -0.2, 1.0, 0.0, 2.0};
  const std::vector<double> v{0.9, -0.25, 0.6, 0.1, 2.5};
  const std::vector<double> ret{2.0, 0.3, 0.0, -1.0, 2.1};
  const auto vl = clipped_value_loss(v, old_v, ret, 0.2);
  CHECK(vl.clip_fraction > 0);
  CHECK(vl.clip_fraction < 1);
  const double ev = worst_rel_error(v, vl.d_values, [&](const std::vector<double>& x) {
    return clipped_value_loss(x, old_v, ret, 0.2).loss;
  });
  CHECK(ev < 1e-5);
}

TEST_CASE("PPO entropy of softmax(logits / T) equals the hand value", "[ppo]") {
  const float uniform[4] = {0, 0, 0, 0};
  CHECK(softmax_entropy(uniform, 4, 1.0) == Approx(std::log(4.0)).epsilon(1e-14));
  // logits (1, 2) at T = 0.5 -> (2, 4): p = (1, e^2) / (1 + e^2)
  const double two[2] = {1, 2};
  const double p1 = 1 / (1 + std::exp(2.0)), p2 = 1 - p1;
  CHECK(softmax_entropy(two, 2, 0.5) == Approx(-p1 * std::log(p1) - p2 * std::log(p2)).epsilon(1e-13));
}
