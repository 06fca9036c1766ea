// The Llama 2 gate combining the helpfulness and safety reward models (wb/rlhf/gated_reward.h),
// on values worked out by hand.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "wb/rlhf/gated_reward.h"

using namespace wb::rlhf;

TEST_CASE("the gate takes the safety score on unsafe prompts and unsafe-looking answers", "[rlhf][gate]") {
  // sigmoid(-1.7346) = 0.15: the threshold's logit is log(0.15 / 0.85) = -1.734601.
  const double edge = std::log(0.15 / 0.85);
  CHECK(sigmoid(edge) == Approx(0.15).epsilon(1e-12));
  CHECK(sigmoid(0.0) == 0.5);
  CHECK(sigmoid(-800.0) >= 0.0);
  CHECK(sigmoid(800.0) == 1.0);

  // Safe prompt, safety model content (sigmoid(0.3) = 0.574): helpfulness decides.
  CHECK(gated_reward(1.25, 0.3, false) == 1.25);
  // Safe prompt, safety model alarmed (sigmoid(-2) = 0.119 < 0.15): safety decides.
  CHECK(gated_reward(1.25, -2.0, false) == -2.0);
  // Just either side of the threshold.
  CHECK(gated_reward(0.7, edge - 1e-9, false) == edge - 1e-9);
  CHECK(gated_reward(0.7, edge + 1e-9, false) == 0.7);
  // Unsafe prompt: safety decides whatever its value.
  CHECK(gated_reward(1.25, 3.0, true) == 3.0);
  CHECK(gated_reward(-4.0, -0.5, true) == -0.5);
  // Another threshold: sigmoid(-1) = 0.269 < 0.3.
  CHECK(gated_reward(2.0, -1.0, false, 0.3) == -1.0);
  CHECK(gated_reward(2.0, -1.0, false, 0.2) == 2.0);
}

TEST_CASE("the gate refuses non-finite scores and thresholds outside (0, 1)", "[rlhf][gate]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  CHECK_THROWS_WITH(gated_reward(nan, 0.0, false), Catch::Contains("helpfulness"));
  CHECK_THROWS_WITH(gated_reward(0.0, INFINITY, false), Catch::Contains("safety"));
  CHECK_THROWS_WITH(gated_reward(0.0, 0.0, false, 1.0), Catch::Contains("threshold"));
  CHECK_THROWS_WITH(gated_reward(0.0, 0.0, false, 0.0), Catch::Contains("threshold"));
}
