// Helpers shared by the GPU tests: skip without a device, random inputs rounded to the storage
// type, upload/download through fp32, poisoning, and the error measure every parity check uses.
#pragma once

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "wb/cuda/buffer.h"
#include "wb/cuda/device.h"
#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"
#include "wb_skip.h"

namespace wb::cuda::test {

// Ends the test as skipped when no CUDA device answers (this is the normal case in CI).
inline void require_device() {
  if (!device_available()) WB_SKIP(("no CUDA device: " + unavailable_reason()).c_str());
}

inline std::vector<float> randn(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

// The values a tensor of type T can hold: the CPU reference runs on exactly these inputs.
template <typename T>
std::vector<float> round_to(const std::vector<float>& v) {
  return to_float(from_float<T>(v));
}

template <typename T>
DeviceBuffer<T> upload_as(const std::vector<float>& v) {
  return to_device(from_float<T>(v));
}

// Waits for the context's stream, then copies the buffer back as fp32.
template <typename T>
std::vector<float> download_f(Context& ctx, const DeviceBuffer<T>& d) {
  ctx.synchronize();
  return to_float(to_host(d.data(), d.size()));
}

// Fills a buffer with NaN (all bits set) so an element the op forgets to write is caught.
template <typename T>
void poison(Context& ctx, DeviceBuffer<T>& d) {
  fill_bytes(d.data(), 0xFF, d.size(), ctx.s());
}

// Normwise relative error: max |got - want| / max |want|; infinity on any NaN or size mismatch.
inline double rel_err(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return std::numeric_limits<double>::infinity();
  double num = 0.0, den = 1e-30;
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(got[i]) || std::isnan(want[i])) return std::numeric_limits<double>::infinity();
    num = std::max(num, std::fabs(double(got[i]) - double(want[i])));
    den = std::max(den, std::fabs(double(want[i])));
  }
  return num / den;
}

// Tolerance: k units of the storage type's roundoff (fp32: k * 2^-24, with a floor for the
// fast-math exp and different summation order of the device).
template <typename T>
double tol(double k) {
  const double u = unit_roundoff(dtype_of<T>::value);
  return std::max(k * u, dtype_of<T>::value == DType::f32 ? 2e-5 : 0.0);
}

}  // namespace wb::cuda::test
