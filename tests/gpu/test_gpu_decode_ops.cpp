// The decode-path kernels against their unfused counterparts: GEMV (plain, accumulating, with
// RMSNorm staged in, with the SwiGLU pair epilogue) against the CPU's rmsnorm/gemm/swiglu on the
// same rounded inputs; rope_kv_append against rope_forward + kv_cache_append on the device (same
// bits); attention_decode_rope against rope_kv_append + attention_decode (same bits); and the
// device-side decode step bookkeeping. Skipped without a GPU.
#include <cmath>

#include "gpu_test_util.h"
#include "wb/kernels/attention.h"
#include "wb/cuda/decode.h"
#include "wb/cuda/gemv.h"
#include "wb/kernels/rope.h"
#include "wb/kernels/gemm.h"
#include "wb/kernels/rmsnorm.h"

using namespace wb::cuda;
using namespace wb::kernels;
using namespace wb::cuda::test;
namespace K = wb::kernels;

#define WB_DTYPES float, wb::cuda::fp16, wb::cuda::bf16

namespace {
// y[n, out] = x[n, in] W^T on the CPU (fp32 on rounded inputs).
std::vector<float> cpu_linear(const std::vector<float>& x, const std::vector<float>& w, int64_t n,
                              int64_t in, int64_t out) {
  std::vector<float> y(n * out);
  K::gemm<float>(false, true, n, out, in, 1.0f, x.data(), in, w.data(), in, 0.0f, y.data(), out);
  return y;
}
}  // namespace

TEMPLATE_TEST_CASE("gemv equals the linear layer for 1..4 rows, plain and accumulating", "[gpu]",
                   WB_DTYPES) {
  require_device();
  Context ctx;
  // 520 columns take the 128-bit path for every type; 61 the scalar one.
  for (int64_t in : {520, 61}) {
    const int64_t out = 301;
    for (int64_t n = 1; n <= kGemvMaxRows; ++n) {
      REQUIRE(gemv_fits<TestType>(n, in));
      const auto x = round_to<TestType>(randn(n * in, 40 + n));
      const auto w = round_to<TestType>(randn(out * in, 41, 0.05f));
      const auto y0 = round_to<TestType>(randn(n * out, 42));
      const auto prod = cpu_linear(x, w, n, in, out);
      auto gx = upload_as<TestType>(x), gw = upload_as<TestType>(w);
      DeviceBuffer<TestType> gy(n * out);
      poison(ctx, gy);
      gemv<TestType>(ctx, gy.data(), gx.data(), gw.data(), n, in, out);
      INFO("in " << in << " rows " << n);
      CHECK(rel_err(download_f(ctx, gy), prod) < tol<TestType>(4));
      auto gacc = upload_as<TestType>(y0);
      gemv<TestType>(ctx, gacc.data(), gx.data(), gw.data(), n, in, out, /*accumulate=*/true);
      auto want = prod;
      for (size_t i = 0; i < want.size(); ++i) want[i] += y0[i];
      CHECK(rel_err(download_f(ctx, gacc), want) < tol<TestType>(4));
    }
  }
  CHECK_FALSE(gemv_fits<TestType>(kGemvMaxRows + 1, 64));
  CHECK_THROWS(gemv<TestType>(ctx, nullptr, nullptr, nullptr, kGemvMaxRows + 1, 64, 8));
}

TEMPLATE_TEST_CASE("gemv_rmsnorm equals rmsnorm then the linear layer, and SwiGLU of the pair",
                   "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t in = 256, out = 136;
  const float eps = 1e-5f;
  for (int64_t n : {1, 3}) {
    const auto x = round_to<TestType>(randn(n * in, 50 + n));
    const auto nw = round_to<TestType>(randn(in, 51));
    const auto w = round_to<TestType>(randn(2 * out * in, 52, 0.05f));  // [gate; up]
    std::vector<float> xn(n * in), rstd(n);
    K::rmsnorm_forward<float>(xn.data(), rstd.data(), x.data(), nw.data(), n, in, eps);
    xn = round_to<TestType>(xn);  // rmsnorm_forward stores T
    const auto both = cpu_linear(xn, w, n, in, 2 * out);
    std::vector<float> first(n * out), h(n * out);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < out; ++r) first[i * out + r] = both[i * 2 * out + r];
    // SwiGLU from the two products rounded to T, as swiglu_forward after two linears.
    const auto g = round_to<TestType>(first);
    std::vector<float> u(n * out);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t r = 0; r < out; ++r) u[i * out + r] = both[i * 2 * out + out + r];
    u = round_to<TestType>(u);
    for (size_t i = 0; i < h.size(); ++i) h[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];

    auto gx = upload_as<TestType>(x), gnw = upload_as<TestType>(nw), gw = upload_as<TestType>(w);
    DeviceBuffer<TestType> gy(n * out), gh(n * out);
    poison(ctx, gy);
    poison(ctx, gh);
    gemv_rmsnorm<TestType>(ctx, gy.data(), gx.data(), gnw.data(), eps, gw.data(), n, in, out);
    gemv_rmsnorm<TestType>(ctx, gh.data(), gx.data(), gnw.data(), eps, gw.data(), n, in, out,
                           /*swiglu=*/true);
    INFO("rows " << n);
    CHECK(rel_err(download_f(ctx, gy), first) < tol<TestType>(6));
    CHECK(rel_err(download_f(ctx, gh), h) < tol<TestType>(8));
  }
}

TEMPLATE_TEST_CASE("rope_kv_append gives the bits of rope_forward and kv_cache_append", "[gpu]",
                   WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t B = 3, H = 4, Hkv = 2, hd = 16, D = H * hd, KV = Hkv * hd, ld = D + 2 * KV;
  const int64_t max_len = 9, stride = max_len * KV;
  const std::vector<int32_t> pos = {0, 5, 8};
  const auto qkv = round_to<TestType>(randn(B * ld, 60));
  const auto cache0 = round_to<TestType>(randn(B * stride, 61));
  // Reference on the device: split q/k/v, rotate q and k, append.
  std::vector<float> q(B * D), k(B * KV), v(B * KV);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < ld; ++c) {
      const float x = qkv[b * ld + c];
      if (c < D) q[b * D + c] = x;
      else if (c < D + KV) k[b * KV + c - D] = x;
      else v[b * KV + c - D - KV] = x;
    }
  auto gpos = to_device(pos);
  auto rq = upload_as<TestType>(q), rk = upload_as<TestType>(k), rv = upload_as<TestType>(v);
  auto rkc = upload_as<TestType>(cache0), rvc = upload_as<TestType>(cache0);
  rope_forward<TestType>(rq.data(), D, gpos.data(), B, H, hd, 10000.0f, ctx);
  rope_forward<TestType>(rk.data(), KV, gpos.data(), B, Hkv, hd, 10000.0f, ctx);
  kv_cache_append<TestType>(rkc.data(), rvc.data(), rk.data(), rv.data(), gpos.data(), B,
                            stride, KV, nullptr, ctx);

  auto gqkv = upload_as<TestType>(qkv);
  auto gkc = upload_as<TestType>(cache0), gvc = upload_as<TestType>(cache0);
  DeviceBuffer<TestType> gq(B * D);
  poison(ctx, gq);
  rope_kv_append<TestType>(ctx, gq.data(), gkc.data(), gvc.data(), gqkv.data(), ld, gpos.data(), B,
                           H, Hkv, hd, 10000.0f, stride);
  CHECK(rel_err(download_f(ctx, gq), download_f(ctx, rq)) == 0.0);
  CHECK(rel_err(download_f(ctx, gkc), download_f(ctx, rkc)) == 0.0);
  CHECK(rel_err(download_f(ctx, gvc), download_f(ctx, rvc)) == 0.0);
}

TEMPLATE_TEST_CASE("attention_decode_rope gives the bits of rope_kv_append + attention_decode",
                   "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  for (int64_t Hkv : {2, 4}) {
    const int64_t B = 3, H = 4, hd = 64, D = H * hd, KV = Hkv * hd, ld = D + 2 * KV;
    const int64_t max_len = 40, stride = max_len * KV;
    const std::vector<int32_t> pos = {0, 17, 39}, len = {1, 18, 40};
    const AttentionShape sh{B, H, Hkv, hd};
    const auto qkv = round_to<TestType>(randn(B * ld, 80));
    const auto cache0 = round_to<TestType>(randn(B * stride, 81));
    auto gpos = to_device(pos), glen = to_device(len);
    auto gqkv = upload_as<TestType>(qkv);
    auto rkc = upload_as<TestType>(cache0), rvc = upload_as<TestType>(cache0);
    DeviceBuffer<TestType> rq(B * D), rout(B * D), gout(B * D);
    rope_kv_append<TestType>(ctx, rq.data(), rkc.data(), rvc.data(), gqkv.data(), ld, gpos.data(),
                             B, H, Hkv, hd, 10000.0f, stride);
    attention_decode<TestType>(rout.data(), rq.data(), rkc.data(), rvc.data(), glen.data(), B,
                               max_len, stride, sh, nullptr, ctx);
    auto gkc = upload_as<TestType>(cache0), gvc = upload_as<TestType>(cache0);
    poison(ctx, gout);
    attention_decode_rope<TestType>(ctx, gout.data(), gkc.data(), gvc.data(), gqkv.data(), ld,
                                    gpos.data(), max_len, stride, sh, 10000.0f);
    INFO("kv heads " << Hkv);
    CHECK(rel_err(download_f(ctx, gout), download_f(ctx, rout)) == 0.0);
    CHECK(rel_err(download_f(ctx, gkc), download_f(ctx, rkc)) == 0.0);
    CHECK(rel_err(download_f(ctx, gvc), download_f(ctx, rvc)) == 0.0);
  }
}

TEST_CASE("decode steps take their inputs from the device step counter", "[gpu]") {
  require_device();
  Context ctx;
  const int64_t B = 2, P = 3, N = 2;
  const std::vector<int32_t> prompts = {10, 11, 12, 20, 21, 22};
  auto gp = to_device(prompts);
  auto step = to_device(std::vector<int32_t>{0});
  DeviceBuffer<int32_t> tok(B), pos(B), len(B);
  auto out = to_device(std::vector<int32_t>(B * N, -1));
  std::vector<std::vector<int32_t>> toks, poss, lens;
  for (int t = 0; t < P + N - 1; ++t) {
    decode_step_begin(ctx, tok.data(), pos.data(), len.data(), step.data(), gp.data(), B, P);
    ctx.synchronize();
    toks.push_back(to_host(tok.data(), B));
    poss.push_back(to_host(pos.data(), B));
    lens.push_back(to_host(len.data(), B));
    if (t + 1 >= P) {  // the "model" chooses 100 * (t + 1) + b
      const std::vector<int32_t> chosen = {100 * (t + 1), 100 * (t + 1) + 1};
      upload(tok.data(), chosen.data(), B);
    }
    decode_step_end(ctx, step.data(), out.data(), tok.data(), B, P, N);
  }
  ctx.synchronize();
  CHECK(toks[0] == std::vector<int32_t>{10, 20});
  CHECK(toks[2] == std::vector<int32_t>{12, 22});
  CHECK(toks[3] == std::vector<int32_t>{300, 301});  // after the prompt: the previous choice
  CHECK(poss[3] == std::vector<int32_t>{3, 3});
  CHECK(lens[3] == std::vector<int32_t>{4, 4});
  CHECK(to_host(out.data(), B * N) == std::vector<int32_t>{300, 400, 301, 401});
  CHECK(to_host(step.data(), 1) == std::vector<int32_t>{int32_t(P + N - 1)});
}
