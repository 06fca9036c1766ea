// Small helpers shared by the GPU benchmarks: argument parsing (--key value), wall-clock
// timing around a synchronized stream, and a measured bf16 cuBLAS peak for MFU.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "wb/cuda/buffer.h"
#include "wb/cuda/elementwise.h"
#include "wb/kernels/add.h"
#include "wb/kernels/gemm.h"
#include "wb/cuda/stream.h"

namespace wb::gpu {

// "--name value" pairs; a flag without a value reads as "1". Unknown names are an error.
class Args {
 public:
  Args(int argc, char** argv, std::map<std::string, std::string> defaults) : v_(std::move(defaults)) {
    for (int i = 1; i < argc; ++i) {
      std::string k = argv[i];
      if (k.rfind("--", 0) != 0) throw std::invalid_argument("unexpected argument: " + k);
      k = k.substr(2);
      if (!v_.count(k)) throw std::invalid_argument("unknown option --" + k);
      v_[k] = (i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0) ? argv[++i] : "1";
    }
  }
  std::string str(const std::string& k) const { return v_.at(k); }
  long num(const std::string& k) const { return std::stol(v_.at(k)); }
  std::vector<long> list(const std::string& k) const {
    std::vector<long> out;
    std::string s = v_.at(k);
    size_t p = 0;
    while (p < s.size()) {
      size_t q = s.find(',', p);
      if (q == std::string::npos) q = s.size();
      if (q > p) out.push_back(std::stol(s.substr(p, q - p)));
      p = q + 1;
    }
    return out;
  }

 private:
  std::map<std::string, std::string> v_;
};

inline double now_s() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

// TFLOP/s of a square bf16 GEMM (fp32 accumulate) of size n, best of `reps` after a warm-up.
inline double measure_bf16_peak_tflops(cuda::Context& ctx, int64_t n = 8192, int reps = 10) {
  cuda::DeviceBuffer<cuda::bf16> a(n * n), b(n * n), c(n * n);
  cuda::fill_normal(ctx, a.data(), n * n, 1.0f, 1);
  cuda::fill_normal(ctx, b.data(), n * n, 1.0f, 2);
  kernels::gemm(false, true, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n, ctx);
  ctx.synchronize();
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_s();
    kernels::gemm(false, true, n, n, n, 1.0f, a.data(), n, b.data(), n, 0.0f, c.data(), n, ctx);
    ctx.synchronize();
    best = std::min(best, now_s() - t0);
  }
  return 2.0 * double(n) * n * n / best / 1e12;
}

}  // namespace wb::gpu
