// GPU kernel benchmark: bf16 cuBLAS GEMM throughput at the 7B linear shapes (and the square peak),
// and the grouped mixed-adapter LoRA product against the single-adapter one (issue 7: 32 sequences
// with 32 distinct adapters within 1.3x of one adapter). JSON lines; skipped without a device.
#include <cstdio>
#include <exception>

#include "gpu_bench_util.h"
#include "wb/cuda/device.h"
#include "wb/cuda/lora.h"

using namespace wb;
using namespace wb::gpu;
using cuda::bf16;
using cuda::DeviceBuffer;

namespace {

template <typename F>
double time_it(cuda::Context& ctx, F&& f, int reps = 20) {
  f();
  ctx.synchronize();
  const double t0 = now_s();
  for (int i = 0; i < reps; ++i) f();
  ctx.synchronize();
  return (now_s() - t0) / reps;
}

int run() {
  if (!cuda::device_available()) {
    std::printf("{\"bench\":\"gpu_kernels\",\"skipped\":\"no CUDA device: %s\"}\n",
                cuda::unavailable_reason().c_str());
    return 0;
  }
  cuda::Context ctx;
  std::printf("{\"bench\":\"gpu_gemm_peak\",\"n\":8192,\"tflops\":%.1f}\n",
              measure_bf16_peak_tflops(ctx));
  // 7B linears: [n, in] x [out, in]^T for n tokens.
  const struct { const char* name; int64_t in, out; } shapes[] = {
      {"qkvo", 4096, 4096}, {"gate_up", 4096, 11008}, {"down", 11008, 4096}, {"lm_head", 4096, 32000}};
  for (int64_t n : {1, 32, 2048}) {
    for (const auto& s : shapes) {
      DeviceBuffer<bf16> x(n * s.in), w(s.out * s.in), y(n * s.out);
      cuda::fill_normal(ctx, x.data(), x.size(), 1.0f, 1);
      cuda::fill_normal(ctx, w.data(), w.size(), 0.02f, 2);
      const double dt = time_it(ctx, [&] {
        cuda::linear_forward(ctx, y.data(), x.data(), w.data(), n, s.in, s.out);
      });
      std::printf("{\"bench\":\"gpu_linear\",\"shape\":\"%s\",\"n\":%ld,\"us\":%.1f,"
                  "\"tflops\":%.1f,\"weight_gbs\":%.0f}\n",
                  s.name, long(n), dt * 1e6, 2.0 * n * s.in * s.out / dt / 1e12,
                  2.0 * s.in * s.out / dt / 1e9);
    }
  }
  // LoRA at decode (32 rows) on a 4096x4096 projection, rank 16: one adapter vs 32 adapters.
  const int64_t n = 32, in = 4096, out = 4096, r = 16;
  DeviceBuffer<bf16> x(n * in), y(n * out), t(n * r);
  cuda::fill_normal(ctx, x.data(), x.size(), 1.0f, 3);
  std::vector<DeviceBuffer<bf16>> As, Bs;
  std::vector<const bf16*> Ap, Bp;
  for (int a = 0; a < 32; ++a) {
    As.emplace_back(r * in);
    Bs.emplace_back(out * r);
    cuda::fill_normal(ctx, As.back().data(), r * in, 0.02f, 10 + a);
    cuda::fill_normal(ctx, Bs.back().data(), out * r, 0.02f, 50 + a);
    Ap.push_back(As.back().data());
    Bp.push_back(Bs.back().data());
  }
  auto gA = cuda::to_device(Ap), gB = cuda::to_device(Bp);
  auto granks = cuda::to_device(std::vector<int32_t>(32, int32_t(r)));
  auto gscales = cuda::to_device(std::vector<float>(32, 2.0f));
  std::vector<int32_t> one(n, 0), mixed(n);
  for (int64_t i = 0; i < n; ++i) mixed[i] = int32_t(i);
  auto gone = cuda::to_device(one), gmixed = cuda::to_device(mixed);
  const double t_gemm = time_it(ctx, [&] {
    cuda::lora_forward(ctx, y.data(), t.data(), x.data(), As[0].data(), Bs[0].data(), n, in, out, r, 2.0f);
  });
  const double t_one = time_it(ctx, [&] {
    cuda::lora_grouped_forward(ctx, y.data(), t.data(), x.data(), gone.data(), gA.data(), gB.data(),
                               granks.data(), gscales.data(), n, in, out, r);
  });
  const double t_mixed = time_it(ctx, [&] {
    cuda::lora_grouped_forward(ctx, y.data(), t.data(), x.data(), gmixed.data(), gA.data(),
                               gB.data(), granks.data(), gscales.data(), n, in, out, r);
  });
  std::printf("{\"bench\":\"gpu_lora_grouped\",\"rows\":%ld,\"rank\":%ld,\"us_cublas_one\":%.1f,"
              "\"us_grouped_one\":%.1f,\"us_grouped_32\":%.1f,\"ratio_32_vs_1\":%.2f}\n",
              long(n), long(r), t_gemm * 1e6, t_one * 1e6, t_mixed * 1e6, t_mixed / t_one);
  return 0;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpu_kernels: %s\n", e.what());
    return 1;
  }
}
