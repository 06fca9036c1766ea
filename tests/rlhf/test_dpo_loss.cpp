// The DPO loss on a fixed batch equals the value computed by hand, its gradient w.r.t. the policy
// log-probs matches central finite differences in double, and policy == reference gives log 2.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include "wb/rlhf/dpo_loss.h"

using wb::rlhf::dpo_batch;
using wb::rlhf::dpo_pair;
using wb::rlhf::DpoPair;

TEST_CASE("DPO loss of one pair equals the hand computation", "[dpo]") {
  // z = 0.1 * ((-10 - -11) - (-12 - -11.5)) = 0.1 * (1 + 0.5) = 0.15; loss = log(1 + e^-0.15).
  const auto r = dpo_pair(DpoPair{-10, -12, -11, -11.5}, 0.1);
  CHECK(r.chosen_log_ratio == Approx(1.0).epsilon(1e-15));
  CHECK(r.rejected_log_ratio == Approx(-0.5).epsilon(1e-15));
  CHECK(r.margin == Approx(0.15).epsilon(1e-14));
  CHECK(r.loss == Approx(0.6209570477895321).epsilon(1e-14));
  // dloss/dlog pi(c) = -beta * sigmoid(-z) = -0.1 / (1 + e^0.15)
  CHECK(r.d_policy_chosen == Approx(-0.1 / (1 + std::exp(0.15))).epsilon(1e-14));
  CHECK(r.d_policy_rejected == Approx(0.1 / (1 + std::exp(0.15))).epsilon(1e-14));
}

TEST_CASE("DPO at step 0: policy == reference gives zero log ratios and loss log 2", "[dpo]") {
  const std::vector<DpoPair> batch{{-7.25, -9.5, -7.25, -9.5}, {-30, -2, -30, -2}, {-1e3, -1e-3, -1e3, -1e-3}};
  const auto b = dpo_batch(batch, 0.1);
  for (const auto& p : b.pairs) {
    CHECK(p.chosen_log_ratio == 0.0);
    CHECK(p.rejected_log_ratio == 0.0);
  }
  CHECK(b.loss == std::log(2.0));
  CHECK(b.accuracy == 0.0);  // z = 0 is not a win
}

TEST_CASE("DPO gradient matches central finite differences in double", "[dpo]") {
  const std::vector<DpoPair> batch{{-10, -12, -11, -11.5}, {-3.5, -2.0, -4.0, -1.0}, {-50, -58, -52, -57},
                                   {-0.2, -0.3, -0.25, -0.35}};
  for (double beta : {0.01, 0.1, 0.5, 2.0}) {
    const auto b = dpo_batch(batch, beta);
    for (size_t i = 0; i < batch.size(); ++i) {
      for (int which = 0; which < 2; ++which) {
        const double h = 1e-5;
        auto shifted = [&](double d) {
          auto copy = batch;
          (which == 0 ? copy[i].policy_chosen : copy[i].policy_rejected) += d;
          return dpo_batch(copy, beta).loss;
        };
        const double fd = (shifted(h) - shifted(-h)) / (2 * h);
        const double an = which == 0 ? b.pairs[i].d_policy_chosen : b.pairs[i].d_policy_rejected;
        INFO("beta " << beta << " pair " << i << (which == 0 ? " chosen" : " rejected") << " fd " << fd << " an " << an);
        CHECK(std::fabs(fd - an) <= 1e-5 * std::max(std::fabs(an), 1e-12) + 1e-12);
      }
    }
  }
}

TEST_CASE("DPO batch metrics and refusals", "[dpo]") {
  const auto b = dpo_batch({{-10, -12, -11, -11.5}, {-5, -4, -5, -5}}, 0.1);
  CHECK(b.accuracy == 0.5);  // the first pair prefers chosen, the second rejected
  CHECK(b.margin == Approx((0.15 + -0.1) / 2).epsilon(1e-14));
  CHECK(b.chosen_log_ratio == Approx(0.5).epsilon(1e-14));
  CHECK(b.rejected_log_ratio == Approx(-0.25 + 0.5).epsilon(1e-14));
  // Large margins stay finite (no overflow in exp).
  CHECK(std::isfinite(dpo_pair(DpoPair{0, -1e6, 0, 0}, 1.0).loss));
  CHECK(std::isfinite(dpo_pair(DpoPair{-1e6, 0, 0, 0}, 1.0).loss));
  CHECK_THROWS_WITH(dpo_pair(DpoPair{}, -0.1), Catch::Contains("beta"));
  CHECK_THROWS_WITH(dpo_pair(DpoPair{NAN, 0, 0, 0}, 0.1), Catch::Contains("policy log-prob of the chosen"));
  CHECK_THROWS_WITH(dpo_batch({}, 0.1), Catch::Contains("empty"));
}
