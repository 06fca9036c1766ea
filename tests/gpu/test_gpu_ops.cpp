// Every CUDA op against the CPU backend (wb::kernels) on random inputs, for fp32, fp16 and bf16
// storage. Inputs are rounded to the storage type first, so both backends see the same values;
// outputs an op writes are poisoned with NaN beforehand; gradients start from random values to
// check that backward accumulates. Skipped when no GPU answers.
#include <algorithm>
#include <numeric>

#include "attention_case.h"
#include "gpu_test_util.h"
#include "wb/kernels/adamw.h"
#include "wb/kernels/dropout.h"
#include "wb/cuda/elementwise.h"
#include "wb/kernels/add.h"
#include "wb/kernels/embedding.h"
#include "wb/kernels/gemm.h"
#include "wb/kernels/lora.h"
#include "wb/kernels/rmsnorm.h"
#include "wb/kernels/rope.h"
#include "wb/kernels/scalar_head.h"
#include "wb/kernels/swiglu.h"
#include "wb/kernels/xent.h"
#include "wb/kernels/adamw.h"
#include "wb/kernels/attention.h"
#include "wb/kernels/dropout.h"
#include "wb/kernels/embedding.h"
#include "wb/kernels/gemm.h"
#include "wb/kernels/lora.h"
#include "wb/kernels/rmsnorm.h"
#include "wb/kernels/rope.h"
#include "wb/kernels/scalar_head.h"
#include "wb/kernels/swiglu.h"
#include "wb/kernels/xent.h"

using namespace wb::cuda;
using namespace wb::kernels;
using namespace wb::cuda::test;
namespace K = wb::kernels;

#define WB_DTYPES float, wb::cuda::fp16, wb::cuda::bf16

TEMPLATE_TEST_CASE("gemm matches the CPU for every transpose", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t M = 33, N = 47, Kd = 65;
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      const auto A = round_to<TestType>(randn(M * Kd, 1));
      const auto B = round_to<TestType>(randn(Kd * N, 2));
      const auto C0 = round_to<TestType>(randn(M * N, 3));
      const int64_t lda = ta ? M : Kd, ldb = tb ? Kd : N;
      auto want = C0;
      K::gemm<float>(ta, tb, M, N, Kd, 0.5f, A.data(), lda, B.data(), ldb, 0.25f, want.data(), N);
      auto dA = upload_as<TestType>(A), dB = upload_as<TestType>(B), dC = upload_as<TestType>(C0);
      gemm<TestType>(ta, tb, M, N, Kd, 0.5f, dA.data(), lda, dB.data(), ldb, 0.25f,
                     dC.data(), N, ctx);
      INFO("trans_a " << ta << " trans_b " << tb);
      CHECK(rel_err(download_f(ctx, dC), want) < tol<TestType>(4));
    }
  }
}

TEMPLATE_TEST_CASE("strided-batched gemm equals one CPU gemm per batch entry", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t M = 9, N = 14, Kd = 33, batch = 3;
  const int64_t sa = M * Kd + 5, sb = Kd * N + 3, sc = M * N + 7;  // padded strides
  const auto A = round_to<TestType>(randn(batch * sa, 90));
  const auto B = round_to<TestType>(randn(batch * sb, 91));
  const auto C0 = round_to<TestType>(randn(batch * sc, 92));
  auto want = C0;
  for (int64_t b = 0; b < batch; ++b)
    K::gemm<float>(false, true, M, N, Kd, 1.5f, A.data() + b * sa, Kd, B.data() + b * sb, Kd, 1.0f,
                   want.data() + b * sc, N);
  auto dA = upload_as<TestType>(A), dB = upload_as<TestType>(B), dC = upload_as<TestType>(C0);
  gemm_strided_batched<TestType>(false, true, M, N, Kd, 1.5f, dA.data(), Kd, sa, dB.data(), Kd,
                                 sb, 1.0f, dC.data(), N, sc, batch, ctx);
  CHECK(rel_err(download_f(ctx, dC), want) < tol<TestType>(4));
}

TEMPLATE_TEST_CASE("elementwise ops: add, axpy, scale, fill, convert, fill_normal", "[gpu]",
                   WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 3000;
  const auto a = round_to<TestType>(randn(n, 93)), b = round_to<TestType>(randn(n, 94));
  auto ga = upload_as<TestType>(a), gb = upload_as<TestType>(b);
  DeviceBuffer<TestType> y(n);
  poison(ctx, y);
  add<TestType>(y.data(), ga.data(), gb.data(), n, ctx);
  std::vector<float> want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = a[i] + b[i];
  CHECK(rel_err(download_f(ctx, y), want) < tol<TestType>(2));
  axpy<TestType>(y.data(), -1.0f, gb.data(), n, ctx);  // back to a (up to rounding)
  scale<TestType>(y.data(), 2.0f, n, ctx);
  for (int64_t i = 0; i < n; ++i) want[i] = 2.0f * a[i];
  CHECK(rel_err(download_f(ctx, y), want) < tol<TestType>(4));
  add_inplace<TestType>(y.data(), ga.data(), n, ctx);
  for (int64_t i = 0; i < n; ++i) want[i] = 3.0f * a[i];
  CHECK(rel_err(download_f(ctx, y), want) < tol<TestType>(6));
  fill<TestType>(ctx, y.data(), 0.5f, n);
  CHECK(rel_err(download_f(ctx, y), std::vector<float>(n, 0.5f)) == 0.0);
  DeviceBuffer<float> f(n);
  convert<float, TestType>(ctx, f.data(), ga.data(), n);
  CHECK(rel_err(download_f(ctx, f), a) == 0.0);  // widening is exact

  const int64_t big = 1 << 20;
  DeviceBuffer<TestType> r(big);
  fill_normal<TestType>(ctx, r.data(), big, 2.0f, 7);
  const auto v = download_f(ctx, r);
  double mean = 0, var = 0;
  for (float x : v) mean += x;
  mean /= double(big);
  for (float x : v) var += (x - mean) * (x - mean);
  var /= double(big);
  CHECK(std::fabs(mean) < 0.01);
  CHECK(std::sqrt(var) == Approx(2.0).epsilon(0.01));
}

TEMPLATE_TEST_CASE("linear forward and backward match the CPU", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 19, in = 40, out = 24;
  const auto x = round_to<TestType>(randn(n * in, 4));
  const auto w = round_to<TestType>(randn(out * in, 5, 0.2f));
  const auto dy = round_to<TestType>(randn(n * out, 6));
  const auto dx0 = round_to<TestType>(randn(n * in, 7));
  const auto dw0 = round_to<TestType>(randn(out * in, 8));
  std::vector<float> y(n * out), dx = dx0, dw = dw0;
  K::linear_forward<float>(y.data(), x.data(), w.data(), n, in, out);
  K::linear_backward<float>(dx.data(), dw.data(), dy.data(), x.data(), w.data(), n, in, out);

  auto gx = upload_as<TestType>(x), gw = upload_as<TestType>(w), gdy = upload_as<TestType>(dy);
  auto gdx = upload_as<TestType>(dx0), gdw = upload_as<TestType>(dw0);
  DeviceBuffer<TestType> gy(n * out);
  poison(ctx, gy);
  linear_forward<TestType>(gy.data(), gx.data(), gw.data(), n, in, out, false, ctx);
  linear_backward<TestType>(gdx.data(), gdw.data(), gdy.data(), gx.data(), gw.data(), n, in,
                            out, true, ctx);
  CHECK(rel_err(download_f(ctx, gy), y) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, gdx), dx) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, gdw), dw) < tol<TestType>(4));
}

TEMPLATE_TEST_CASE("embedding gather and scatter-add match the CPU", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t vocab = 50, d = 36, n = 12;
  const std::vector<int32_t> tokens = {3, 7, 3, 0, 49, 7, 7, 12, 1, 3, 48, 0};  // repeats
  const auto table = round_to<TestType>(randn(vocab * d, 9));
  const auto dx = round_to<TestType>(randn(n * d, 10));
  const auto dtable0 = randn(vocab * d, 11);
  std::vector<float> x(n * d), dtable = dtable0;
  K::embedding_forward<float>(x.data(), tokens.data(), table.data(), n, d);
  K::embedding_backward<float>(dtable.data(), dx.data(), tokens.data(), n, d);

  auto gtok = to_device(tokens);
  auto gtable = upload_as<TestType>(table), gdx = upload_as<TestType>(dx);
  auto gdtable = to_device(dtable0);
  DeviceBuffer<TestType> gx(n * d);
  poison(ctx, gx);
  embedding_forward<TestType>(gx.data(), gtok.data(), gtable.data(), n, d, ctx);
  embedding_backward<TestType>(gdtable.data(), gdx.data(), gtok.data(), n, d, ctx);
  CHECK(rel_err(download_f(ctx, gx), x) == 0.0);  // a copy is exact
  CHECK(rel_err(download_f(ctx, gdtable), dtable) < 1e-6);
}

TEMPLATE_TEST_CASE("rmsnorm forward and backward match the CPU", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 7, d = 300;
  const float eps = 1e-5f;
  const auto x = round_to<TestType>(randn(n * d, 12));
  const auto w = round_to<TestType>(randn(d, 13, 0.5f));
  const auto dy = round_to<TestType>(randn(n * d, 14));
  const auto dx0 = round_to<TestType>(randn(n * d, 15));
  const auto dw0 = randn(d, 16);
  std::vector<float> y(n * d), rstd(n), dx = dx0, dw = dw0;
  K::rmsnorm_forward<float>(y.data(), rstd.data(), x.data(), w.data(), n, d, eps);
  K::rmsnorm_backward<float>(dx.data(), dw.data(), dy.data(), x.data(), w.data(), rstd.data(), n,
                             d);

  auto gx = upload_as<TestType>(x), gw = upload_as<TestType>(w), gdy = upload_as<TestType>(dy);
  auto gdx = upload_as<TestType>(dx0);
  auto gdw = to_device(dw0);
  DeviceBuffer<TestType> gy(n * d);
  DeviceBuffer<float> grstd(n);
  poison(ctx, gy);
  poison(ctx, grstd);
  rmsnorm_forward<TestType>(gy.data(), grstd.data(), gx.data(), gw.data(), n, d, eps, ctx);
  rmsnorm_backward<TestType>(gdx.data(), gdw.data(), gdy.data(), gx.data(), gw.data(),
                             grstd.data(), n, d, ctx);
  CHECK(rel_err(download_f(ctx, gy), y) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, grstd), rstd) < 1e-5);
  CHECK(rel_err(download_f(ctx, gdx), dx) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, gdw), dw) < 1e-5);
}

TEMPLATE_TEST_CASE("rope forward and backward match the CPU (strided rows)", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 9, heads = 3, hd = 32, ld = heads * hd + 8;
  const std::vector<int32_t> pos = {0, 1, 2, 17, 100, 511, 2047, 4095, 3};
  const float theta = 10000.0f;
  const auto x0 = round_to<TestType>(randn(n * ld, 17));
  auto fwd = x0, bwd = x0;
  K::rope_forward<float>(fwd.data(), ld, pos.data(), n, heads, hd, theta);
  K::rope_backward<float>(bwd.data(), ld, pos.data(), n, heads, hd, theta);

  auto gpos = to_device(pos);
  auto gf = upload_as<TestType>(x0), gb = upload_as<TestType>(x0);
  rope_forward<TestType>(gf.data(), ld, gpos.data(), n, heads, hd, theta, ctx);
  rope_backward<TestType>(gb.data(), ld, gpos.data(), n, heads, hd, theta, ctx);
  CHECK(rel_err(download_f(ctx, gf), fwd) < tol<TestType>(2));
  CHECK(rel_err(download_f(ctx, gb), bwd) < tol<TestType>(2));
}

TEMPLATE_TEST_CASE("swiglu forward and backward match the CPU", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t count = 1000;
  const auto g = round_to<TestType>(randn(count, 18, 2.0f));
  const auto u = round_to<TestType>(randn(count, 19));
  const auto dh = round_to<TestType>(randn(count, 20));
  const auto dg0 = round_to<TestType>(randn(count, 21));
  const auto du0 = round_to<TestType>(randn(count, 22));
  std::vector<float> h(count), dg = dg0, du = du0;
  K::swiglu_forward<float>(h.data(), g.data(), u.data(), count);
  K::swiglu_backward<float>(dg.data(), du.data(), dh.data(), g.data(), u.data(), count);

  auto gg = upload_as<TestType>(g), gu = upload_as<TestType>(u), gdh = upload_as<TestType>(dh);
  auto gdg = upload_as<TestType>(dg0), gdu = upload_as<TestType>(du0);
  DeviceBuffer<TestType> gh(count);
  poison(ctx, gh);
  swiglu_forward<TestType>(gh.data(), gg.data(), gu.data(), count, ctx);
  swiglu_backward<TestType>(gdg.data(), gdu.data(), gdh.data(), gg.data(), gu.data(), count, true, ctx);
  CHECK(rel_err(download_f(ctx, gh), h) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, gdg), dg) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, gdu), du) < tol<TestType>(4));
}

TEMPLATE_TEST_CASE("dropout draws the CPU's mask", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t count = 5000;
  const float p = 0.3f;
  const uint64_t seed = 1234567;
  const auto x = round_to<TestType>(randn(count, 23));
  const auto dx0 = round_to<TestType>(randn(count, 24));
  std::vector<float> y(count), dx = dx0;
  K::dropout_forward<float>(y.data(), x.data(), count, p, seed);
  K::dropout_backward<float>(dx.data(), x.data(), count, p, seed);

  auto gx = upload_as<TestType>(x), gdx = upload_as<TestType>(dx0);
  DeviceBuffer<TestType> gy(count);
  poison(ctx, gy);
  dropout_forward<TestType>(gy.data(), gx.data(), count, p, seed, ctx);
  dropout_backward<TestType>(gdx.data(), gx.data(), count, p, seed, ctx);
  const auto got = download_f(ctx, gy);
  for (int64_t i = 0; i < count; ++i)
    REQUIRE((got[i] == 0.0f) == !K::dropout_keep(seed, uint64_t(i), p));
  CHECK(rel_err(got, y) < tol<TestType>(2));
  CHECK(rel_err(download_f(ctx, gdx), dx) < tol<TestType>(2));
}

TEMPLATE_TEST_CASE("packed causal GQA attention matches the CPU, forward and backward", "[gpu]",
                   WB_DTYPES) {
  require_device();
  Context ctx;
  AttentionCase<TestType> c({0, 5, 14, 15, 27}, 4, 2, 40);  // four sequences, one of length 1
  const AttentionShape sh = c.shape();
  auto gstart = to_device(seq_start_from_cu_seqlens(c.cu.data(), c.n_seqs));
  DeviceBuffer<TestType> gout(c.n * c.H * c.D);
  DeviceBuffer<float> glse(c.H * c.n), ws(attention_rows_workspace(sh));
  poison(ctx, gout);
  poison(ctx, glse);
  attention_forward_rows<TestType>(gout.data(), glse.data(), c.gq.data(), c.gk.data(),
                                   c.gv.data(), gstart.data(), sh, ctx);
  attention_backward_rows<TestType>(c.gdq.data(), c.gdk.data(), c.gdv.data(), c.gdout.data(),
                                    c.gq.data(), c.gk.data(), c.gv.data(), gout.data(),
                                    glse.data(), gstart.data(), sh, ws.data(), ctx);
  CHECK(rel_err(download_f(ctx, gout), c.out) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, c.gdq), c.dq) < tol<TestType>(8));
  CHECK(rel_err(download_f(ctx, c.gdk), c.dk) < tol<TestType>(8));
  CHECK(rel_err(download_f(ctx, c.gdv), c.dv) < tol<TestType>(8));
}

TEMPLATE_TEST_CASE("decode attention over a KV cache matches the CPU's single-sequence attention",
                   "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t batch = 3, max_len = 24, H = 8, Hkv = 2, D = 64, kv = Hkv * D;
  const std::vector<int32_t> lengths = {1, 7, 20};
  const std::vector<int32_t> new_pos = {0, 6, 19};
  const int64_t stride = max_len * kv;
  const auto kc = round_to<TestType>(randn(batch * stride, 32));
  const auto vc = round_to<TestType>(randn(batch * stride, 33));
  const auto knew = round_to<TestType>(randn(batch * kv, 34));
  const auto vnew = round_to<TestType>(randn(batch * kv, 35));
  const auto q = round_to<TestType>(randn(batch * H * D, 36));
  // Expected cache after the append, and the CPU's attention of each sequence's new query.
  auto kx = kc, vx = vc;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t c = 0; c < kv; ++c) {
      kx[b * stride + new_pos[b] * kv + c] = knew[b * kv + c];
      vx[b * stride + new_pos[b] * kv + c] = vnew[b * kv + c];
    }
  std::vector<float> out(batch * H * D), scratch(max_len);
  for (int64_t b = 0; b < batch; ++b)
    K::attention_forward_seq<float>(out.data() + b * H * D, H * D, nullptr, scratch.data(),
                                    q.data() + b * H * D, H * D, kx.data() + b * stride,
                                    vx.data() + b * stride, kv, 1, lengths[b], H, Hkv, D);

  auto gk = upload_as<TestType>(kc), gv = upload_as<TestType>(vc);
  auto gkn = upload_as<TestType>(knew), gvn = upload_as<TestType>(vnew), gq = upload_as<TestType>(q);
  auto glen = to_device(lengths), gpos = to_device(new_pos);
  DeviceBuffer<TestType> gout(batch * H * D);
  poison(ctx, gout);
  kv_cache_append<TestType>(gk.data(), gv.data(), gkn.data(), gvn.data(), gpos.data(), batch,
                            stride, kv, nullptr, ctx);
  attention_decode<TestType>(gout.data(), gq.data(), gk.data(), gv.data(), glen.data(), batch,
                             max_len, stride, AttentionShape{batch, H, Hkv, D}, nullptr, ctx);
  CHECK(rel_err(download_f(ctx, gk), kx) == 0.0);
  CHECK(rel_err(download_f(ctx, gv), vx) == 0.0);
  CHECK(rel_err(download_f(ctx, gout), out) < tol<TestType>(4));
}

TEMPLATE_TEST_CASE("cross-entropy and softmax match the CPU, masked rows included", "[gpu]",
                   WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 6, vocab = 1000;
  const std::vector<int32_t> targets = {5, -1, 999, 0, 512, 77};
  const auto logits = round_to<TestType>(randn(n * vocab, 37, 3.0f));
  const auto d0 = round_to<TestType>(randn(n * vocab, 38, 0.01f));
  const auto dloss = randn(n, 39);
  std::vector<float> losses(n), dl = d0, zeros(n * vocab, 0.0f), probs = logits;
  K::cross_entropy_forward<float>(losses.data(), logits.data(), targets.data(), n, vocab);
  K::cross_entropy_backward<float>(dl.data(), logits.data(), targets.data(), dloss.data(), n, vocab);
  K::cross_entropy_backward<float>(zeros.data(), logits.data(), targets.data(), dloss.data(), n,
                                   vocab);
  K::softmax_forward<float>(probs.data(), n, vocab);

  auto gl = upload_as<TestType>(logits), gd = upload_as<TestType>(d0);
  auto ginplace = upload_as<TestType>(logits), gsoft = upload_as<TestType>(logits);
  auto gt = to_device(targets);
  auto gdloss = to_device(dloss);
  DeviceBuffer<float> glosses(n);
  poison(ctx, glosses);
  cross_entropy_forward<TestType>(glosses.data(), gl.data(), gt.data(), n, vocab, ctx);
  cross_entropy_backward<TestType>(gd.data(), gl.data(), gt.data(), gdloss.data(), n, vocab, ctx);
  cross_entropy_backward_inplace<TestType>(ginplace.data(), gt.data(), gdloss.data(), n, vocab, ctx);
  softmax_forward<TestType>(gsoft.data(), n, vocab, ctx);
  const auto got_losses = download_f(ctx, glosses);
  CHECK(got_losses[1] == 0.0f);
  CHECK(rel_err(got_losses, losses) < 1e-5);
  CHECK(rel_err(download_f(ctx, gd), dl) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, ginplace), zeros) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, gsoft), probs) < tol<TestType>(4));
}

// The signed per-row coefficient backward (DPO, PPO): the CPU op computes in double from the
// rounded logits, the GPU in fp32 (expf over a 1000-wide row): the log-probs agree to 1e-5
// relative; the gradient rows to a few units of the storage type's roundoff, as the cross-entropy.
TEMPLATE_TEST_CASE("token log-probs and their signed coefficient backward match the CPU", "[gpu]",
                   WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 6, vocab = 1000;
  const std::vector<int32_t> targets = {5, -1, 999, 0, 512, 77};
  const auto logits = round_to<TestType>(randn(n * vocab, 57, 3.0f));
  const std::vector<float> coef = {0.7f, 2.0f, -1.3f, 0.0f, -0.05f, 3.0f};
  for (const float inv_temp : {1.0f, 1.0f / 1.2f}) {
    std::vector<float> logp(n), dl(n * vocab), inplace = logits;
    K::token_logprob_forward<float>(logp.data(), logits.data(), targets.data(), n, vocab, inv_temp);
    K::token_logprob_backward<float>(dl.data(), logits.data(), targets.data(), coef.data(), n, vocab,
                                     inv_temp);
    K::token_logprob_backward<float>(inplace.data(), inplace.data(), targets.data(), coef.data(), n,
                                     vocab, inv_temp);
    CHECK(rel_err(inplace, dl) == 0.0);  // in place gives the same bits on the CPU

    auto gl = upload_as<TestType>(logits), gd = upload_as<TestType>(logits);
    auto ginplace = upload_as<TestType>(logits);
    poison(ctx, gd);
    auto gt = to_device(targets);
    auto gcoef = to_device(coef);
    DeviceBuffer<float> glogp(n);
    poison(ctx, glogp);
    token_logprob_forward<TestType>(glogp.data(), gl.data(), gt.data(), n, vocab, inv_temp, ctx);
    token_logprob_backward<TestType>(gd.data(), gl.data(), gt.data(), gcoef.data(), n, vocab,
                                     inv_temp, ctx);
    token_logprob_backward<TestType>(ginplace.data(), ginplace.data(), gt.data(), gcoef.data(), n,
                                     vocab, inv_temp, ctx);
    const auto got = download_f(ctx, glogp);
    CHECK(got[1] == 0.0f);
    CHECK(rel_err(got, logp) < 1e-5);
    const auto gdl = download_f(ctx, gd);
    for (int64_t c = 0; c < vocab; ++c) REQUIRE(gdl[size_t(vocab + c)] == 0.0f);  // masked row
    CHECK(rel_err(gdl, dl) < tol<TestType>(4));
    CHECK(rel_err(download_f(ctx, ginplace), dl) < tol<TestType>(4));
  }
}

// Per-row entropy (PPO's metric): the CPU op in double from the rounded logits, the GPU in fp32
// over a 1000-wide row (sums of 512-thread partials): 1e-5 relative, as the log-probs.
TEMPLATE_TEST_CASE("token entropy at a temperature matches the CPU", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 5, vocab = 1000;
  const std::vector<int32_t> targets = {5, -1, 999, 0, 77};
  auto host = randn(n * vocab, 58, 3.0f);
  host[size_t(3 * vocab + 9)] = 60.0f;  // a nearly one-hot row
  const auto logits = round_to<TestType>(host);
  for (const float inv_temp : {1.0f, 1.0f / 1.2f}) {
    std::vector<double> ld(logits.begin(), logits.end()), ent(n);
    K::token_entropy_forward<double>(ent.data(), ld.data(), targets.data(), n, vocab, inv_temp);
    auto gl = upload_as<TestType>(logits);
    auto gt = to_device(targets);
    DeviceBuffer<float> gent(n);
    poison(ctx, gent);
    token_entropy_forward<TestType>(gent.data(), gl.data(), gt.data(), n, vocab, inv_temp, ctx);
    const auto got = download_f(ctx, gent);
    CHECK(got[1] == 0.0f);
    for (int64_t i = 0; i < n; ++i) CHECK(std::abs(double(got[size_t(i)]) - ent[size_t(i)]) <= 1e-5 * (1.0 + ent[size_t(i)]));
  }
}

TEST_CASE("adamw matches the CPU over several steps, with a bf16 shadow copy", "[gpu]") {
  require_device();
  Context ctx;
  const int64_t n = 4099;
  auto p = randn(n, 40), m = std::vector<float>(n, 0.0f), v = m;
  auto gp = to_device(p), gm = to_device(m), gv = to_device(v);
  DeviceBuffer<bf16> shadow(n);
  poison(ctx, shadow);
  AdamWStep s;
  s.lr = 1e-2f;
  s.weight_decay = 0.1f;
  s.grad_scale = 0.5f;
  for (int step = 1; step <= 3; ++step) {
    s.step = step;
    const auto g = randn(n, 41 + step);
    K::adamw_update(p.data(), g.data(), m.data(), v.data(), n, s);
    auto gg = to_device(g);
    adamw_update_shadow<bf16>(gp.data(), shadow.data(), gg.data(), gm.data(), gv.data(), n, s, ctx);
    ctx.synchronize();
  }
  CHECK(rel_err(download_f(ctx, gp), p) < 1e-5);
  CHECK(rel_err(download_f(ctx, gm), m) < 1e-5);
  CHECK(rel_err(download_f(ctx, gv), v) < 1e-5);
  CHECK(rel_err(download_f(ctx, shadow), round_to<bf16>(p)) < tol<bf16>(1));

  DeviceBuffer<float> ss(1);
  sum_squares(ss.data(), gp.data(), n, ctx);
  double want = 0;
  for (float x : p) want += double(x) * x;
  CHECK(download_f(ctx, ss)[0] == Approx(want).epsilon(1e-5));
}

TEMPLATE_TEST_CASE("lora forward and backward match the CPU", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 13, in = 48, out = 40, r = 8;
  const float scale = 2.0f;
  const auto x = round_to<TestType>(randn(n * in, 50));
  const auto A = round_to<TestType>(randn(r * in, 51, 0.3f));
  const auto B = round_to<TestType>(randn(out * r, 52, 0.3f));
  const auto y0 = round_to<TestType>(randn(n * out, 53));
  const auto dy = round_to<TestType>(randn(n * out, 54));
  const auto dx0 = round_to<TestType>(randn(n * in, 55));
  const auto dA0 = randn(r * in, 56), dB0 = randn(out * r, 57);
  std::vector<float> y = y0, t(n * r), dx = dx0, dA = dA0, dB = dB0, dt(n * r);
  K::lora_forward<float>(y.data(), t.data(), x.data(), A.data(), B.data(), n, in, out, r, scale);
  K::lora_backward<float>(dx.data(), dA.data(), dB.data(), dt.data(), dy.data(), x.data(),
                          t.data(), A.data(), B.data(), n, in, out, r, scale);

  auto gx = upload_as<TestType>(x), gA = upload_as<TestType>(A), gB = upload_as<TestType>(B);
  auto gy = upload_as<TestType>(y0), gdy = upload_as<TestType>(dy), gdx = upload_as<TestType>(dx0);
  auto gdA = to_device(dA0), gdB = to_device(dB0);
  DeviceBuffer<TestType> gt(n * r), gdt(n * r);
  poison(ctx, gt);
  poison(ctx, gdt);
  lora_forward<TestType>(gy.data(), gt.data(), gx.data(), gA.data(), gB.data(), n, in, out, r,
                         scale, ctx);
  lora_backward<TestType>(gdx.data(), gdA.data(), gdB.data(), gdt.data(), gdy.data(),
                          gx.data(), gt.data(), gA.data(), gB.data(), n, in, out, r, scale, ctx);
  CHECK(rel_err(download_f(ctx, gt), t) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, gy), y) < tol<TestType>(4));
  CHECK(rel_err(download_f(ctx, gdx), dx) < tol<TestType>(8));
  CHECK(rel_err(download_f(ctx, gdA), dA) < tol<TestType>(8));
  CHECK(rel_err(download_f(ctx, gdB), dB) < tol<TestType>(8));
}

TEMPLATE_TEST_CASE("grouped LoRA over a mixed-adapter batch equals each row's own adapter",
                   "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 10, in = 64, out = 48, max_rank = 8;
  const std::vector<int32_t> ranks = {4, 8, 2, 8};
  const std::vector<float> scales = {1.0f, 0.5f, 2.0f, 0.25f};
  const std::vector<int32_t> adapter_of = {0, 1, -1, 3, 2, 2, 0, 3, 1, -1};
  const auto x = round_to<TestType>(randn(n * in, 60));
  const auto y0 = round_to<TestType>(randn(n * out, 61));
  std::vector<std::vector<float>> As, Bs;
  std::vector<DeviceBuffer<TestType>> gAs, gBs;
  std::vector<const TestType*> Aptr, Bptr;
  for (size_t a = 0; a < ranks.size(); ++a) {
    As.push_back(round_to<TestType>(randn(ranks[a] * in, 62 + a, 0.3f)));
    Bs.push_back(round_to<TestType>(randn(out * ranks[a], 72 + a, 0.3f)));
    gAs.push_back(upload_as<TestType>(As.back()));
    gBs.push_back(upload_as<TestType>(Bs.back()));
    Aptr.push_back(gAs.back().data());
    Bptr.push_back(gBs.back().data());
  }
  auto want = y0;
  std::vector<float> t(max_rank);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t a = adapter_of[i];
    if (a < 0) continue;
    K::lora_forward<float>(want.data() + i * out, t.data(), x.data() + i * in, As[a].data(),
                           Bs[a].data(), 1, in, out, ranks[a], scales[a]);
  }
  auto gx = upload_as<TestType>(x), gy = upload_as<TestType>(y0);
  auto gad = to_device(adapter_of), granks = to_device(ranks);
  auto gscales = to_device(scales);
  auto gAp = to_device(Aptr), gBp = to_device(Bptr);
  DeviceBuffer<TestType> gt(n * max_rank);
  lora_grouped_forward<TestType>(gy.data(), gt.data(), gx.data(), gad.data(), gAp.data(),
                                 gBp.data(), granks.data(), gscales.data(), n, in, out, max_rank, ctx);
  CHECK(rel_err(download_f(ctx, gy), want) < tol<TestType>(4));
}

TEMPLATE_TEST_CASE("scalar head forward and backward match the CPU", "[gpu]", WB_DTYPES) {
  require_device();
  Context ctx;
  const int64_t n = 12, d = 80, S = 3;
  const std::vector<int32_t> index = {3, 4, 11};  // last real row of each sequence
  const auto h = round_to<TestType>(randn(n * d, 95));
  const auto w = round_to<TestType>(randn(d, 96, 0.2f));
  const float b = 0.3f;
  const auto dr = randn(S, 97);
  const auto dh0 = round_to<TestType>(randn(n * d, 98));
  const auto dw0 = randn(d, 99);
  std::vector<float> r(S), dh = dh0, dw = dw0, db = {0.25f};
  K::scalar_head_forward<float>(r.data(), h.data(), index.data(), S, w.data(), b, d);
  K::scalar_head_backward<float>(dw.data(), db.data(), dh.data(), dr.data(), h.data(),
                                 index.data(), S, w.data(), d);

  auto gh = upload_as<TestType>(h), gw = upload_as<TestType>(w), gdh = upload_as<TestType>(dh0);
  auto gidx = to_device(index);
  auto gdr = to_device(dr), gdw = to_device(dw0), gdb = to_device(std::vector<float>{0.25f});
  DeviceBuffer<float> gr(S);
  poison(ctx, gr);
  scalar_head_forward<TestType>(gr.data(), gh.data(), gidx.data(), S, gw.data(), b, d, ctx);
  scalar_head_backward<TestType>(gdw.data(), gdb.data(), gdh.data(), gdr.data(), gh.data(),
                                 gidx.data(), S, gw.data(), d, ctx);
  CHECK(rel_err(download_f(ctx, gr), r) < 1e-5);
  CHECK(rel_err(download_f(ctx, gdw), dw) < 1e-5);
  CHECK(rel_err(download_f(ctx, gdb), db) < 1e-6);
  CHECK(rel_err(download_f(ctx, gdh), dh) < tol<TestType>(4));
}
