// GPU kernel benchmark: bf16 cuBLAS GEMM throughput at the 7B linear shapes (and the square peak),
// and the grouped mixed-adapter LoRA product against the single-adapter one (issue 7: 32 sequences
// with 32 distinct adapters within 1.3x of one adapter). Also the decode GEMV kernels at the fused
// 7B shapes (weight GB/s, against the HBM bandwidth) and causal attention at 4 x 512 tokens,
// forward and backward, through the per-row kernels and through cuBLAS batched GEMMs.
// JSON lines; skipped without a device.
#include <cstdio>
#include <exception>

#include "gpu_bench_util.h"
#include "wb/kernels/attention.h"
#include "wb/cuda/device.h"
#include "wb/cuda/gemv.h"
#include "wb/kernels/lora.h"

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
        kernels::linear_forward(y.data(), x.data(), w.data(), n, s.in, s.out, false, ctx);
      });
      std::printf("{\"bench\":\"gpu_linear\",\"shape\":\"%s\",\"n\":%ld,\"us\":%.1f,"
                  "\"tflops\":%.1f,\"weight_gbs\":%.0f}\n",
                  s.name, long(n), dt * 1e6, 2.0 * n * s.in * s.out / dt / 1e12,
                  2.0 * s.in * s.out / dt / 1e9);
    }
  }
  // Decode GEMV at one row, fused shapes: [q;k;v], o, [gate;up] with SwiGLU, down, LM head.
  const double hbm = cuda::device_info().memory_bandwidth_gbs;
  const struct { const char* name; int64_t in, out; bool norm, pair; } gshapes[] = {
      {"qkv_norm", 4096, 12288, true, false}, {"o", 4096, 4096, false, false},
      {"gate_up_swiglu", 4096, 11008, true, true}, {"down", 11008, 4096, false, false},
      {"lm_head_norm", 4096, 32000, true, false},
      // 2 GiB of weights: the kernel's streaming rate once launch and tail no longer count.
      {"asymptote_2gib", 4096, 262144, false, false}};
  for (const auto& s : gshapes) {
    const int64_t rows = s.pair ? 2 * s.out : s.out;
    DeviceBuffer<bf16> x(s.in), nw(s.in), w(rows * s.in), y(s.out);
    cuda::fill_normal(ctx, x.data(), x.size(), 1.0f, 1);
    cuda::fill(ctx, nw.data(), 1.0f, nw.size());
    cuda::fill_normal(ctx, w.data(), w.size(), 0.02f, 2);
    const double dt = time_it(ctx, [&] {
      if (s.norm) cuda::gemv_rmsnorm(ctx, y.data(), x.data(), nw.data(), 1e-5f, w.data(), 1, s.in, s.out, s.pair);
      else cuda::gemv(ctx, y.data(), x.data(), w.data(), 1, s.in, s.out, true);
    }, 50);
    const double gbs = 2.0 * double(rows) * s.in / dt / 1e9;
    std::printf("{\"bench\":\"gpu_gemv\",\"shape\":\"%s\",\"n\":1,\"us\":%.1f,"
                "\"weight_gbs\":%.0f,\"of_hbm\":%.3f}\n",
                s.name, dt * 1e6, gbs, gbs / hbm);
  }
  std::fflush(stdout);
  // Causal attention, 4 sequences x 512, 32 heads of 128: per-row kernels vs batched GEMMs.
  {
    const int64_t S = 4, L = 512, H = 32, hd = 128, n = S * L;
    const kernels::AttentionShape sh{n, H, H, hd};
    DeviceBuffer<bf16> q(n * H * hd), k(n * H * hd), v(n * H * hd), o(n * H * hd), dout(n * H * hd),
        dq(n * H * hd), dk(n * H * hd), dv(n * H * hd);
    for (auto* b : {&q, &k, &v, &dout}) cuda::fill_normal(ctx, b->data(), b->size(), 1.0f, 5);
    std::vector<int32_t> cu(1, 0), start;
    for (int64_t s = 0; s < S; ++s) {
      cu.push_back(cu.back() + int32_t(L));
      start.insert(start.end(), size_t(L), int32_t(s * L));
    }
    DeviceBuffer<float> lse(H * n), rws(kernels::attention_rows_workspace(sh));
    DeviceBuffer<float> gws(
        (kernels::attention_workspace_size<bf16>(cu.data(), S, sh, ctx) + 3) / 4);
    auto gstart = cuda::to_device(start);
    const double rf = time_it(ctx, [&] {
      kernels::attention_forward_rows(o.data(), lse.data(), q.data(), k.data(), v.data(),
                                      gstart.data(), sh, ctx);
    }, 3);
    const double rb = time_it(ctx, [&] {
      kernels::attention_backward_rows(dq.data(), dk.data(), dv.data(), dout.data(), q.data(),
                                       k.data(), v.data(), o.data(), lse.data(), gstart.data(), sh,
                                       rws.data(), ctx);
    }, 3);
    const double gf = time_it(ctx, [&] {
      kernels::attention_forward(o.data(), lse.data(), q.data(), k.data(), v.data(), cu.data(), S,
                                 sh, gws.data(), ctx);
    }, 10);
    const double gb = time_it(ctx, [&] {
      kernels::attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(),
                                  v.data(), o.data(), lse.data(), cu.data(), S, sh, gws.data(),
                                  ctx);
    }, 10);
    std::printf("{\"bench\":\"gpu_attention\",\"seqs\":%ld,\"seq_len\":%ld,\"heads\":%ld,"
                "\"rows_fwd_ms\":%.3f,\"rows_bwd_ms\":%.3f,\"gemm_fwd_ms\":%.3f,"
                "\"gemm_bwd_ms\":%.3f}\n",
                long(S), long(L), long(H), rf * 1e3, rb * 1e3, gf * 1e3, gb * 1e3);
    std::fflush(stdout);
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
    kernels::lora_forward(y.data(), t.data(), x.data(), As[0].data(), Bs[0].data(), n, in, out, r, 2.0f, ctx);
  });
  const double t_one = time_it(ctx, [&] {
    kernels::lora_grouped_forward(y.data(), t.data(), x.data(), gone.data(), gA.data(), gB.data(),
                               granks.data(), gscales.data(), n, in, out, r, ctx);
  });
  const double t_mixed = time_it(ctx, [&] {
    kernels::lora_grouped_forward(y.data(), t.data(), x.data(), gmixed.data(), gA.data(),
                               gB.data(), granks.data(), gscales.data(), n, in, out, r, ctx);
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
