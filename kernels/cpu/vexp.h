// exp for float that the compiler vectorises (plain arithmetic and bit casts, no libm call):
// the loops over 32,000-way vocabulary rows and attention score rows call it once per element.
// Cephes' expf: x = n ln2 + r, |r| <= ln2 / 2, a degree-7 polynomial in r, times 2^n built in
// the exponent bits. Relative error about 1e-7; exactly 0 below -87.3 (where expf is denormal).
#pragma once

#include <bit>
#include <cstdint>

namespace wb::kernels::detail {

inline float vexp(float x) {
  const float lo = -87.3f, hi = 88.3f;
  const float xc = x < lo ? lo : (x > hi ? hi : x);
  const float round = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float z = xc * 1.44269504088896341f + round;
  const float fn = z - round;
  const int32_t n = std::bit_cast<int32_t>(z) - std::bit_cast<int32_t>(round);
  float r = xc - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  const float y = (p * r * r + r) + 1.0f;
  const float scale = std::bit_cast<float>((n + 127) << 23);
  return x < lo ? 0.0f : y * scale;
}

}  // namespace wb::kernels::detail

namespace wb::kernels::detail {

// out[j] = exp(in[j] - sub) for j < n with vexp, built for AVX-512, AVX2 and baseline x86-64
// (picked at load time); out may equal in. Returns the sum of the outputs (float within blocks
// of 1024, double across).
double exp_sub_row(float* out, const float* in, int64_t n, float sub);

}  // namespace wb::kernels::detail
