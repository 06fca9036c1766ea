// DType conversions: exhaustive over every 16-bit pattern, and against an independent reference
// (the compiler's _Float16 for half; exact nearest-even selection in double for bfloat16).
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "wb/llama/dtype.h"
#include "wb_skip.h"

using namespace wb::llama;

namespace {

bool is_nan16(uint16_t h) { return (h & 0x7C00u) == 0x7C00u && (h & 0x3FFu) != 0; }
bool is_nan_bf16(uint16_t b) { return (b & 0x7F80u) == 0x7F80u && (b & 0x7Fu) != 0; }

// bfloat16 nearest-even by comparing the two candidates' distances exactly in double.
uint16_t reference_bf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  const uint32_t lo = x & 0xFFFF0000u;
  const double v = std::fabs(static_cast<double>(f));
  const double vlo = std::fabs(static_cast<double>(std::bit_cast<float>(lo)));
  // The next magnitude up; past the largest finite value it is 2^128 (IEEE overflow rule).
  const uint32_t hi = lo + 0x10000u;
  const double vhi = (hi & 0x7F800000u) == 0x7F800000u
                         ? std::ldexp(1.0, 128)
                         : std::fabs(static_cast<double>(std::bit_cast<float>(hi)));
  const double dlo = v - vlo, dhi = vhi - v;
  if (dlo < dhi) return static_cast<uint16_t>(lo >> 16);
  if (dhi < dlo) return static_cast<uint16_t>(hi >> 16);
  return static_cast<uint16_t>(((lo >> 16) & 1u) ? (hi >> 16) : (lo >> 16));
}

}  // namespace

TEST_CASE("dtype: sizes and names", "[dtype]") {
  CHECK(dtype_size(DType::F32) == 4);
  CHECK(dtype_size(DType::F16) == 2);
  CHECK(dtype_size(DType::BF16) == 2);
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    CHECK(dtype_from_name(dtype_name(t)) == t);
    CHECK(dtype_from_torch_name(dtype_torch_name(t)) == t);
  }
  CHECK(dtype_name(DType::BF16) == "BF16");
  CHECK(dtype_torch_name(DType::F16) == "float16");
  CHECK_FALSE(dtype_from_name("F64").has_value());
  CHECK_FALSE(dtype_from_name("f32").has_value());
  CHECK_FALSE(dtype_from_torch_name("float64").has_value());
}

TEST_CASE("dtype: every half value survives f16 -> f32 -> f16", "[dtype]") {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const auto h16 = static_cast<uint16_t>(h);
    const float f = f16_to_f32(h16);
        if (is_nan16(h16)) {
      REQUIRE(std::isnan(f));
      REQUIRE(is_nan16(f32_to_f16(f)));
      REQUIRE((f32_to_f16(f) & 0x8000u) == (h16 & 0x8000u));
      continue;
    }
    REQUIRE(f32_to_f16(f) == h16);
    // The value, computed independently from the fields: (-1)^s * 2^(e-15) * (1 + m/1024), or
    // 2^-14 * m/1024 for subnormals.
    const int e = (h >> 10) & 0x1F;
    const int m = h & 0x3FF;
    const double sign = (h & 0x8000) ? -1.0 : 1.0;
    const double expect = e == 0x1F ? sign * HUGE_VAL
                          : e == 0  ? sign * std::ldexp(m / 1024.0, -14)
                                    : sign * std::ldexp(1.0 + m / 1024.0, e - 15);
    REQUIRE(static_cast<double>(f) == expect);
    REQUIRE(std::signbit(f) == ((h & 0x8000) != 0));
  }
}

TEST_CASE("dtype: every bfloat16 value survives bf16 -> f32 -> bf16", "[dtype]") {
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    const auto b16 = static_cast<uint16_t>(b);
    const float f = bf16_to_f32(b16);
    REQUIRE(std::bit_cast<uint32_t>(f) == b << 16);
    if (is_nan_bf16(b16)) {
      REQUIRE(is_nan_bf16(f32_to_bf16(f)));
    } else {
      REQUIRE(f32_to_bf16(f) == b16);
    }
  }
}

TEST_CASE("dtype: f32 -> f16 matches _Float16 rounding on random floats", "[dtype]") {
#if !defined(__FLT16_MAX__)  // the compiler's _Float16 (GCC >= 12 on x86-64) is the reference
  WB_SKIP("no _Float16 in this compiler to compare against");
#else
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  // Exponents near the half range are where rounding, subnormals and overflow happen.
  std::uniform_int_distribution<uint32_t> exp_near(100, 145);
  for (int i = 0; i < 2'000'000; ++i) {
    uint32_t x = bits(rng);
    if (i % 2 == 0) x = (x & 0x807FFFFFu) | (exp_near(rng) << 23);
    const float f = std::bit_cast<float>(x);
    const uint16_t got = f32_to_f16(f);
    const _Float16 ref = static_cast<_Float16>(f);
    uint16_t want;
    std::memcpy(&want, &ref, 2);
    if (std::isnan(f)) {
      REQUIRE(is_nan16(got));
    } else if (got != want) {
      INFO("float bits " << x);
      REQUIRE(got == want);
    }
  }
#endif
}

TEST_CASE("dtype: f32 -> f16 rounding of edge floats", "[dtype]") {
  CHECK(f32_to_f16(0.0f) == 0x0000);
  CHECK(f32_to_f16(-0.0f) == 0x8000);
  CHECK(f32_to_f16(1.0f) == 0x3C00);
  CHECK(f32_to_f16(65504.0f) == 0x7BFF);               // largest finite half
  CHECK(f32_to_f16(65519.99f) == 0x7BFF);
  CHECK(f32_to_f16(65520.0f) == 0x7C00);               // halfway to 65536 rounds to even: Inf
  CHECK(f32_to_f16(std::ldexp(1.0f, -24)) == 0x0001);  // smallest subnormal
  CHECK(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);  // exactly half of it: ties to even (0)
  CHECK(f32_to_f16(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(f32_to_f16(std::ldexp(3.0f, -25)) == 0x0002);  // 1.5 units: ties to even (2)
  CHECK(f32_to_f16(std::ldexp(1.0f, -14)) == 0x0400);  // smallest normal
  CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);  // tie, even stays
  CHECK(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);  // tie, odd rounds up
  CHECK(f32_to_f16(std::numeric_limits<float>::infinity()) == 0x7C00);
  CHECK(f32_to_f16(-std::numeric_limits<float>::infinity()) == 0xFC00);
  CHECK(is_nan16(f32_to_f16(std::numeric_limits<float>::quiet_NaN())));
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
  CHECK(f16_to_f32(0x03FF) == std::ldexp(1023.0f, -24));
  CHECK(std::isinf(f16_to_f32(0x7C00)));
}

TEST_CASE("dtype: f32 -> bf16 rounds to nearest even", "[dtype]") {
  std::mt19937 rng(11);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 2'000'000; ++i) {
    uint32_t x = bits(rng);
    if (i % 4 == 0) x = (x & 0xFFFF0000u) | 0x8000u;  // exact ties
    const float f = std::bit_cast<float>(x);
    const uint16_t got = f32_to_bf16(f);
    if (std::isnan(f)) {
      REQUIRE(is_nan_bf16(got));
      REQUIRE((got & 0x8000u) == ((x >> 16) & 0x8000u));
    } else if (got != reference_bf16(f)) {
      INFO("float bits " << x);
      REQUIRE(got == reference_bf16(f));
    }
  }
  CHECK(f32_to_bf16(1.0f) == 0x3F80);
  CHECK(f32_to_bf16(std::bit_cast<float>(0x3F808000u)) == 0x3F80);  // tie, even stays
  CHECK(f32_to_bf16(std::bit_cast<float>(0x3F818000u)) == 0x3F82);  // tie, odd rounds up
  CHECK(f32_to_bf16(std::numeric_limits<float>::max()) == 0x7F80);  // rounds to Inf
  CHECK(f32_to_bf16(std::bit_cast<float>(0x00000001u)) == 0x0000);  // tiny subnormal -> 0
  CHECK(f32_to_bf16(std::bit_cast<float>(0x00018000u)) == 0x0002);  // subnormal tie -> even
  // A NaN whose payload sits only in the low bits must stay NaN (not become Inf).
  CHECK(is_nan_bf16(f32_to_bf16(std::bit_cast<float>(0x7F800001u))));
}

TEST_CASE("dtype: array conversions need no alignment", "[dtype]") {
  const std::vector<float> src = {0.0f, -1.5f, 3.140625f, 65504.0f, 1e-6f, -2.0f};
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    std::vector<uint8_t> buf(1 + src.size() * dtype_size(t));
    convert_from_f32(src.data(), t, buf.data() + 1, src.size());  // odd address
    std::vector<float> back(src.size());
    std::vector<double> back64(src.size());
    convert_to_f32(t, buf.data() + 1, back.data(), src.size());
    convert_to_f64(t, buf.data() + 1, back64.data(), src.size());
    for (size_t i = 0; i < src.size(); ++i) {
      float expect = src[i];
      if (t == DType::F16) expect = f16_to_f32(f32_to_f16(src[i]));
      if (t == DType::BF16) expect = bf16_to_f32(f32_to_bf16(src[i]));
      CHECK(back[i] == expect);
      CHECK(back64[i] == static_cast<double>(expect));
    }
  }
}
