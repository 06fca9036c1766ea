// LR schedules: warm-up in steps or as a fraction, cosine to min_lr, constant, bad input.
#include <catch2/catch.hpp>

#include <cmath>

#include "wb/llama/rng.h"
#include "wb/llama/schedule.h"

using namespace wb::llama;

TEST_CASE("cosine schedule with warm-up steps", "[schedule]") {
  ScheduleConfig c;
  c.kind = ScheduleKind::kCosine;
  c.lr = 1.0;
  c.min_lr = 0.1;
  c.total_steps = 12;
  c.warmup_steps = 2;
  LrSchedule s(c);
  CHECK(s.lr_at(0) == Approx(0.5));
  CHECK(s.lr_at(1) == Approx(1.0));
  CHECK(s.lr_at(2) == Approx(1.0));                       // decay starts at the peak
  CHECK(s.lr_at(11) == Approx(0.1));                      // ends exactly at min_lr
  const double mid = s.lr_at(6);  // p = (6 - 2) / (12 - 2 - 1) = 4/9
  CHECK(mid == Approx(0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 4.0 / 9.0))));
  for (int i = 3; i < 12; ++i) CHECK(s.lr_at(i) < s.lr_at(i - 1));
  CHECK(s.lr_at(100) == Approx(0.1));                     // past the end: stays at min
}

TEST_CASE("warm-up as a fraction and constant schedule", "[schedule]") {
  ScheduleConfig c;
  c.kind = ScheduleKind::kConstant;
  c.lr = 2e-5;
  c.total_steps = 100;
  c.warmup_fraction = 0.03;
  LrSchedule s(c);
  CHECK(s.warmup_steps() == 3);
  CHECK(s.lr_at(0) == Approx(2e-5 / 3));
  CHECK(s.lr_at(3) == Approx(2e-5));
  CHECK(s.lr_at(99) == Approx(2e-5));
  CHECK(parse_schedule_kind("cosine") == ScheduleKind::kCosine);
  CHECK_THROWS_WITH(parse_schedule_kind("linear"), Catch::Contains("linear"));
}

TEST_CASE("schedule rejects bad configuration", "[schedule]") {
  ScheduleConfig c;
  c.total_steps = 0;
  CHECK_THROWS_WITH(LrSchedule(c), Catch::Contains("total_steps"));
  c.total_steps = 10;
  c.min_lr = 1.0;
  c.lr = 0.5;
  CHECK_THROWS_WITH(LrSchedule(c), Catch::Contains("min_lr"));
  c.min_lr = 0;
  c.warmup_steps = 11;
  CHECK_THROWS_WITH(LrSchedule(c), Catch::Contains("warmup"));
  c.warmup_steps = 0;
  c.warmup_fraction = 1.5;
  CHECK_THROWS_WITH(LrSchedule(c), Catch::Contains("warmup_fraction"));
}

TEST_CASE("rng state round-trips through text and rejects garbage", "[schedule][rng]") {
  Rng a(42);
  for (int i = 0; i < 10; ++i) a.next_u64();
  Rng b = Rng::from_string(a.to_string());
  for (int i = 0; i < 100; ++i) REQUIRE(a.next_u64() == b.next_u64());
  CHECK_THROWS(Rng::from_string("zz"));
  CHECK_THROWS(Rng::from_string(std::string(67, 'g')));
  CHECK_THROWS(Rng::from_string("0000000000000000:0000000000000000:0000000000000000:0000000000000000"));
  // uniform in [0, 1) and below() in range; normal has roughly unit variance.
  double sum2 = 0;
  for (int i = 0; i < 20000; ++i) {
    const float u = a.uniform();
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
    REQUIRE(a.below(7) < 7);
    const double z = a.normal();
    sum2 += z * z;
  }
  CHECK(sum2 / 20000 == Approx(1.0).epsilon(0.05));
}
