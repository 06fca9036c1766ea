// CPU kernels against plain reference loops (forward) and central differences of
// L = <dy, f(x)> (backward), in double; float instantiations against the double results.
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <vector>

#include "wb/kernels/add.h"
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

namespace k = wb::kernels;
using Vec = std::vector<double>;

namespace {

Vec randn(size_t n, uint64_t seed, double scale = 1.0) {
  Vec v(n);
  uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 12345;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = scale * ((double((s >> 11) & ((1ULL << 53) - 1)) / double(1ULL << 53)) * 2.0 - 1.0);
  }
  return v;
}

double max_abs_diff(const Vec& a, const Vec& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

// d/dx_i of L(x) by central differences, for every i.
Vec numeric_grad(Vec& x, const std::function<double()>& L, double h = 1e-6) {
  Vec g(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double v = x[i];
    x[i] = v + h;
    const double lp = L();
    x[i] = v - h;
    const double lm = L();
    x[i] = v;
    g[i] = (lp - lm) / (2 * h);
  }
  return g;
}

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

TEST_CASE("gemm handles transposes and leading dimensions like the textbook loop", "[kernels]") {
  const int64_t M = 5, N = 7, K = 3, lda = 9, ldb = 11, ldc = 8;
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      Vec A = randn(16 * lda, 1), B = randn(16 * ldb, 2), C = randn(M * ldc, 3), C0 = C;
      k::gemm<double>(ta, tb, M, N, K, 0.5, A.data(), lda, B.data(), ldb, 2.0, C.data(), ldc);
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double s = 0;
          for (int64_t p = 0; p < K; ++p)
            s += (ta ? A[p * lda + i] : A[i * lda + p]) * (tb ? B[j * ldb + p] : B[p * ldb + j]);
          CHECK(C[i * ldc + j] == Approx(0.5 * s + 2.0 * C0[i * ldc + j]).epsilon(1e-12));
        }
      // columns beyond N in each row of C are untouched
      for (int64_t i = 0; i < M; ++i) CHECK(C[i * ldc + N] == C0[i * ldc + N]);
    }
}

TEST_CASE("linear forward/backward", "[kernels]") {
  const int64_t n = 4, in = 6, out = 5;
  Vec x = randn(n * in, 1), w = randn(out * in, 2), dy = randn(n * out, 3);
  auto f = [&] {
    Vec y(n * out);
    k::linear_forward<double>(y.data(), x.data(), w.data(), n, in, out);
    return y;
  };
  Vec y = f();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t j = 0; j < in; ++j) s += x[i * in + j] * w[o * in + j];
      CHECK(y[i * out + o] == Approx(s).epsilon(1e-12));
    }
  Vec dx(n * in, 0.0), dw(out * in, 0.0);
  k::linear_backward<double>(dx.data(), dw.data(), dy.data(), x.data(), w.data(), n, in, out);
  auto L = [&] { return dot(dy, f()); };
  CHECK(max_abs_diff(dx, numeric_grad(x, L)) < 1e-8);
  CHECK(max_abs_diff(dw, numeric_grad(w, L)) < 1e-8);
  // accumulate=true adds
  Vec y2 = y;
  k::linear_forward<double>(y2.data(), x.data(), w.data(), n, in, out, true);
  for (size_t i = 0; i < y.size(); ++i) CHECK(y2[i] == Approx(2 * y[i]));
}

TEST_CASE("embedding lookup and scatter-add with repeated tokens", "[kernels]") {
  const int64_t V = 5, d = 3;
  const std::vector<int32_t> tok{4, 1, 4, 0};
  Vec table = randn(V * d, 1), x(tok.size() * d);
  k::embedding_forward<double>(x.data(), tok.data(), table.data(), tok.size(), d);
  for (size_t i = 0; i < tok.size(); ++i)
    for (int64_t j = 0; j < d; ++j) CHECK(x[i * d + j] == table[tok[i] * d + j]);
  Vec dx = randn(tok.size() * d, 2), dt(V * d, 0.0);
  k::embedding_backward<double>(dt.data(), dx.data(), tok.data(), tok.size(), d);
  for (int64_t j = 0; j < d; ++j) {
    CHECK(dt[4 * d + j] == Approx(dx[0 * d + j] + dx[2 * d + j]));
    CHECK(dt[1 * d + j] == dx[1 * d + j]);
    CHECK(dt[2 * d + j] == 0.0);
  }
}

TEST_CASE("rmsnorm forward/backward", "[kernels]") {
  const int64_t n = 3, d = 8;
  const double eps = 1e-5;
  Vec x = randn(n * d, 1), w = randn(d, 2), dy = randn(n * d, 3);
  auto f = [&] {
    Vec y(n * d), r(n);
    k::rmsnorm_forward<double>(y.data(), r.data(), x.data(), w.data(), n, d, eps);
    return y;
  };
  Vec y = f();
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += x[i * d + j] * x[i * d + j];
    const double r = 1.0 / std::sqrt(ss / d + eps);
    for (int64_t j = 0; j < d; ++j) CHECK(y[i * d + j] == Approx(x[i * d + j] * r * w[j]));
  }
  Vec r(n), yy(n * d), dx(n * d, 0.0), dw(d, 0.0);
  k::rmsnorm_forward<double>(yy.data(), r.data(), x.data(), w.data(), n, d, eps);
  k::rmsnorm_backward<double>(dx.data(), dw.data(), dy.data(), x.data(), w.data(), r.data(), n, d);
  auto L = [&] { return dot(dy, f()); };
  CHECK(max_abs_diff(dx, numeric_grad(x, L)) < 1e-8);
  CHECK(max_abs_diff(dw, numeric_grad(w, L)) < 1e-8);
}

TEST_CASE("rope rotates (i, i + hd/2) pairs by pos * theta^(-2i/hd), backward is the inverse", "[kernels]") {
  const int64_t n = 3, heads = 2, hd = 6, ld = heads * hd + 2;  // ld > width: padding untouched
  const double theta = 100.0;
  const std::vector<int32_t> pos{0, 5, 17};
  Vec x = randn(n * ld, 1), y = x;
  k::rope_forward<double>(y.data(), ld, pos.data(), n, heads, hd, theta);
  for (int64_t r = 0; r < n; ++r) {
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < hd / 2; ++i) {
        const double a = pos[r] * std::pow(theta, -2.0 * i / hd);
        const double x0 = x[r * ld + h * hd + i], x1 = x[r * ld + h * hd + i + hd / 2];
        CHECK(y[r * ld + h * hd + i] == Approx(x0 * std::cos(a) - x1 * std::sin(a)));
        CHECK(y[r * ld + h * hd + i + hd / 2] == Approx(x1 * std::cos(a) + x0 * std::sin(a)));
      }
    CHECK(y[r * ld + heads * hd] == x[r * ld + heads * hd]);
  }
  // position 0 is the identity
  for (int64_t j = 0; j < heads * hd; ++j) CHECK(y[j] == x[j]);
  // backward: the gradient of <dy, rope(x)> is rope^-1(dy)
  Vec dy = randn(n * ld, 2), dx = dy;
  k::rope_backward<double>(dx.data(), ld, pos.data(), n, heads, hd, theta);
  auto L = [&] {
    Vec z = x;
    k::rope_forward<double>(z.data(), ld, pos.data(), n, heads, hd, theta);
    double s = 0;
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = 0; j < heads * hd; ++j) s += dy[r * ld + j] * z[r * ld + j];
    return s;
  };
  Vec num = numeric_grad(x, L);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < heads * hd; ++j) CHECK(dx[r * ld + j] == Approx(num[r * ld + j]).margin(1e-8));
}

TEST_CASE("swiglu forward/backward", "[kernels]") {
  const int64_t c = 11;
  Vec g = randn(c, 1, 4.0), u = randn(c, 2), dh = randn(c, 3);
  auto f = [&] {
    Vec h(c);
    k::swiglu_forward<double>(h.data(), g.data(), u.data(), c);
    return h;
  };
  Vec h = f();
  for (int64_t i = 0; i < c; ++i) CHECK(h[i] == Approx(g[i] / (1 + std::exp(-g[i])) * u[i]));
  Vec dg(c, 0.0), du(c, 0.0);
  k::swiglu_backward<double>(dg.data(), du.data(), dh.data(), g.data(), u.data(), c);
  auto L = [&] { return dot(dh, f()); };
  CHECK(max_abs_diff(dg, numeric_grad(g, L)) < 1e-8);
  CHECK(max_abs_diff(du, numeric_grad(u, L)) < 1e-8);
}

namespace {
// Textbook attention for one sequence: out[i,h,:] = sum_j softmax_j(q_i.k_j / sqrt(hd)) v_j over
// j <= i + (Lk - Lq), kv head h / (H / KV).
Vec naive_attention(const Vec& q, const Vec& kk, const Vec& v, int64_t Lq, int64_t Lk, int64_t H,
                    int64_t KV, int64_t hd) {
  Vec out(Lq * H * hd, 0.0);
  for (int64_t h = 0; h < H; ++h) {
    const int64_t g = h / (H / KV);
    for (int64_t i = 0; i < Lq; ++i) {
      const int64_t last = Lk - Lq + i;
      std::vector<double> s(last + 1);
      double mx = -1e300;
      for (int64_t j = 0; j <= last; ++j) {
        double d = 0;
        for (int64_t e = 0; e < hd; ++e) d += q[i * H * hd + h * hd + e] * kk[j * KV * hd + g * hd + e];
        s[j] = d / std::sqrt(double(hd));
        mx = std::max(mx, s[j]);
      }
      double z = 0;
      for (auto& x : s) z += (x = std::exp(x - mx));
      for (int64_t j = 0; j <= last; ++j)
        for (int64_t e = 0; e < hd; ++e) out[i * H * hd + h * hd + e] += s[j] / z * v[j * KV * hd + g * hd + e];
    }
  }
  return out;
}
}  // namespace

TEST_CASE("packed GQA attention matches textbook attention per sequence, forward and backward", "[kernels]") {
  // The backward recomputes the probabilities from q, k and the saved log-sum-exp; its gradients
  // are checked against finite differences of the forward.
  const int64_t H = 4, KV = 2, hd = 3;
  const std::vector<int32_t> cu{0, 4, 5, 11};
  const int64_t N = 11, S = 3;
  const k::AttentionShape sh{N, H, KV, hd};
  Vec q = randn(N * H * hd, 1), kk = randn(N * KV * hd, 2), v = randn(N * KV * hd, 3);
  Vec dout = randn(N * H * hd, 4);
  CHECK(k::attention_workspace_size<double>(cu.data(), S, sh) == 2 * 36 * sizeof(double));
  Vec work(2 * 36);
  auto f = [&] {
    Vec out(N * H * hd);
    k::attention_forward<double>(out.data(), nullptr, q.data(), kk.data(), v.data(), cu.data(), S, sh, work.data());
    return out;
  };
  Vec out = f();
  for (int64_t s = 0; s < S; ++s) {
    const int64_t r0 = cu[s], L = cu[s + 1] - cu[s];
    Vec qs(q.begin() + r0 * H * hd, q.begin() + (r0 + L) * H * hd);
    Vec ks(kk.begin() + r0 * KV * hd, kk.begin() + (r0 + L) * KV * hd);
    Vec vs(v.begin() + r0 * KV * hd, v.begin() + (r0 + L) * KV * hd);
    Vec ref = naive_attention(qs, ks, vs, L, L, H, KV, hd);
    for (size_t i = 0; i < ref.size(); ++i) CHECK(out[r0 * H * hd + i] == Approx(ref[i]).epsilon(1e-12));
  }
  Vec lse(H * N), o2(N * H * hd);
  k::attention_forward<double>(o2.data(), lse.data(), q.data(), kk.data(), v.data(), cu.data(), S, sh, work.data());
  for (int64_t s = 0; s < S; ++s)  // lse of row i, head h: log sum_j exp(scale q_i . k_j) over j <= i
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = cu[s]; i < cu[s + 1]; ++i) {
        double sum = 0;
        for (int64_t j = cu[s]; j <= i; ++j) {
          double dot = 0;
          for (int64_t c = 0; c < hd; ++c) dot += q[i * H * hd + h * hd + c] * kk[j * KV * hd + (h / 2) * hd + c];
          sum += std::exp(dot / std::sqrt(double(hd)));
        }
        CHECK(lse[h * N + i] == Approx(std::log(sum)).epsilon(1e-12));
      }
  Vec dq(q.size(), 0.0), dk(kk.size(), 0.0), dv(v.size(), 0.0);
  k::attention_backward<double>(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), kk.data(), v.data(),
                                o2.data(), lse.data(), cu.data(), S, sh, work.data());
  auto L = [&] { return dot(dout, f()); };
  CHECK(max_abs_diff(dq, numeric_grad(q, L)) < 1e-8);
  CHECK(max_abs_diff(dk, numeric_grad(kk, L)) < 1e-8);
  CHECK(max_abs_diff(dv, numeric_grad(v, L)) < 1e-8);
}

TEST_CASE("attention_forward_seq over a longer KV cache equals the last rows of full attention", "[kernels]") {
  const int64_t H = 4, KV = 1, hd = 4, Lk = 9, Lq = 3;
  Vec q = randn(Lk * H * hd, 1), kk = randn(Lk * KV * hd, 2), v = randn(Lk * KV * hd, 3);
  Vec full = naive_attention(q, kk, v, Lk, Lk, H, KV, hd);
  Vec out(Lq * H * hd), scratch(Lq * Lk);
  k::attention_forward_seq<double>(out.data(), H * hd, nullptr, scratch.data(),
                                   q.data() + (Lk - Lq) * H * hd, H * hd, kk.data(), v.data(),
                                   KV * hd, Lq, Lk, H, KV, hd);
  for (int64_t i = 0; i < Lq * H * hd; ++i) CHECK(out[i] == Approx(full[(Lk - Lq) * H * hd + i]).epsilon(1e-12));
}

TEST_CASE("cross-entropy, softmax and log-softmax", "[kernels]") {
  const int64_t n = 3, V = 6;
  Vec logits = randn(n * V, 1, 5.0);
  logits[2] = 1000.0;  // large logit: no overflow
  const std::vector<int32_t> t{2, -1, 5};
  Vec loss(n);
  k::cross_entropy_forward<double>(loss.data(), logits.data(), t.data(), n, V);
  CHECK(loss[1] == 0.0);
  for (int64_t i : {0, 2}) {
    double mx = -1e300, z = 0;
    for (int64_t j = 0; j < V; ++j) mx = std::max(mx, logits[i * V + j]);
    for (int64_t j = 0; j < V; ++j) z += std::exp(logits[i * V + j] - mx);
    CHECK(loss[i] == Approx(mx + std::log(z) - logits[i * V + t[i]]).epsilon(1e-12));
  }
  Vec dloss = {0.5, 7.0, 2.0}, dl(n * V, 0.0);
  k::cross_entropy_backward<double>(dl.data(), logits.data(), t.data(), dloss.data(), n, V);
  for (int64_t j = 0; j < V; ++j) CHECK(dl[1 * V + j] == 0.0);  // no target, no gradient
  logits[2] = 2.0;  // moderate values for the finite differences
  Vec dl2(n * V, 0.0);
  k::cross_entropy_backward<double>(dl2.data(), logits.data(), t.data(), dloss.data(), n, V);
  auto L = [&] {
    Vec l(n);
    k::cross_entropy_forward<double>(l.data(), logits.data(), t.data(), n, V);
    return dot(l, dloss);
  };
  CHECK(max_abs_diff(dl2, numeric_grad(logits, L)) < 1e-8);
  Vec sm = logits, ls(n * V);
  k::softmax_forward<double>(sm.data(), n, V);
  k::log_softmax_forward<double>(ls.data(), logits.data(), n, V);
  for (int64_t i = 0; i < n; ++i) {
    double s = 0;
    for (int64_t j = 0; j < V; ++j) {
      s += sm[i * V + j];
      CHECK(std::exp(ls[i * V + j]) == Approx(sm[i * V + j]).epsilon(1e-12));
    }
    CHECK(s == Approx(1.0).epsilon(1e-12));
  }
}

TEST_CASE("token log-probs at a temperature and their signed per-row coefficient backward", "[kernels]") {
  const int64_t n = 3, V = 6;
  Vec logits = randn(n * V, 11, 2.0);
  const std::vector<int32_t> t{4, -1, 0};
  const Vec coef = {1.5, 9.0, -0.7};  // either sign; the masked row's is ignored
  for (const double inv_temp : {1.0, 1.0 / 1.2}) {
    Vec logp(n, 42.0);
    k::token_logprob_forward<double>(logp.data(), logits.data(), t.data(), n, V, inv_temp);
    CHECK(logp[1] == 0.0);
    for (int64_t i : {0, 2}) {
      double z = 0;
      for (int64_t j = 0; j < V; ++j) z += std::exp(inv_temp * logits[i * V + j]);
      CHECK(logp[i] == Approx(inv_temp * logits[i * V + t[i]] - std::log(z)).epsilon(1e-12));
    }
    Vec d(n * V, 5.0);  // assigned, not added to
    k::token_logprob_backward<double>(d.data(), logits.data(), t.data(), coef.data(), n, V, inv_temp);
    for (int64_t j = 0; j < V; ++j) CHECK(d[1 * V + j] == 0.0);
    auto L = [&] {
      Vec l(n);
      k::token_logprob_forward<double>(l.data(), logits.data(), t.data(), n, V, inv_temp);
      return dot(l, coef);
    };
    CHECK(max_abs_diff(d, numeric_grad(logits, L)) < 1e-8);
    Vec inplace = logits;
    k::token_logprob_backward<double>(inplace.data(), inplace.data(), t.data(), coef.data(), n, V, inv_temp);
    CHECK(max_abs_diff(inplace, d) == 0.0);
  }
}

TEST_CASE("token entropy at a temperature equals -sum p log p in double, masked rows 0", "[kernels]") {
  const int64_t n = 3, V = 7;
  Vec logits = randn(n * V, 21, 3.0);
  logits[2 * V + 4] = 90.0;  // a dominant logit: near-zero entropy, no overflow
  const std::vector<int32_t> t{2, -1, 0};
  for (const double inv_temp : {1.0, 1.0 / 1.2}) {
    Vec ent(n, 42.0);
    k::token_entropy_forward<double>(ent.data(), logits.data(), t.data(), n, V, inv_temp);
    CHECK(ent[1] == 0.0);
    for (int64_t i : {int64_t(0), int64_t(2)}) {
      double z = 0;
      for (int64_t j = 0; j < V; ++j) z += std::exp(inv_temp * logits[i * V + j]);
      double h = 0;
      for (int64_t j = 0; j < V; ++j) {
        const double p = std::exp(inv_temp * logits[i * V + j]) / z;
        if (p > 0) h -= p * std::log(p);
      }
      CHECK(ent[i] == Approx(h).epsilon(1e-10).margin(1e-12));
    }
    CHECK(ent[0] > 0.0);
    CHECK(ent[0] <= std::log(double(V)) + 1e-12);
  }
  // A uniform row has entropy log V.
  const Vec flat(V, 0.25);
  const std::vector<int32_t> t1{0};
  double e = 0;
  k::token_entropy_forward<double>(&e, flat.data(), t1.data(), 1, V, 1.0);
  CHECK(e == Approx(std::log(double(V))).epsilon(1e-14));
}

TEST_CASE("fused cross-entropy equals forward plus backward, in place and in float", "[kernels]") {
  // A vocabulary-wide case (the float path's vectorised exp and blocked sums) and a tiny one.
  for (const int64_t V : {int64_t(7), int64_t(32000)}) {
    const int64_t n = 4;
    Vec logits = randn(n * V, 11, 6.0);
    logits[3] = 80.0;            // one dominant logit: no overflow
    logits[V + 5] = -200.0;      // far below the max: exp underflows to 0
    const std::vector<int32_t> t{3, -1, int32_t(V - 1), 0};
    const Vec dloss = {0.25, 9.0, 0.5, 1.5};
    Vec want_loss(n), want_d(n * V, 0.0);
    k::cross_entropy_forward<double>(want_loss.data(), logits.data(), t.data(), n, V);
    k::cross_entropy_backward<double>(want_d.data(), logits.data(), t.data(), dloss.data(), n, V);
    // double, separate output (the stale values in d must be overwritten, masked row zeroed)
    Vec loss(n), d(n * V, 123.0);
    k::cross_entropy_fused<double>(loss.data(), d.data(), logits.data(), t.data(), dloss.data(), n, V);
    CHECK(max_abs_diff(loss, want_loss) < 1e-12);
    CHECK(max_abs_diff(d, want_d) < 1e-15);
    for (int64_t j = 0; j < V; ++j) REQUIRE(d[V + j] == 0.0);
    // double, in place
    Vec inplace = logits;
    k::cross_entropy_fused<double>(loss.data(), inplace.data(), inplace.data(), t.data(), dloss.data(), n, V);
    CHECK(max_abs_diff(inplace, want_d) < 1e-15);
    CHECK(max_abs_diff(loss, want_loss) < 1e-12);
    // float, in place, and losses only
    std::vector<float> lf(logits.begin(), logits.end()), lossf(n), loss_only(n);
    const std::vector<float> dlf(dloss.begin(), dloss.end());
    k::cross_entropy_fused<float>(loss_only.data(), nullptr, lf.data(), t.data(), nullptr, n, V);
    k::cross_entropy_fused<float>(lossf.data(), lf.data(), lf.data(), t.data(), dlf.data(), n, V);
    for (int64_t i = 0; i < n; ++i) {
      CHECK(lossf[i] == Approx(want_loss[i]).epsilon(1e-5).margin(1e-5));
      CHECK(loss_only[i] == lossf[i]);
    }
    double worst = 0;
    for (int64_t i = 0; i < n * V; ++i) worst = std::max(worst, std::abs(double(lf[i]) - want_d[i]));
    CHECK(worst < 1e-6);
    for (int64_t j = 0; j < V; ++j) REQUIRE(lf[V + j] == 0.0f);
  }
}

TEST_CASE("lora forward/backward equals scale * x A^T B^T", "[kernels]") {
  const int64_t n = 4, in = 5, out = 3, r = 2;
  const double scale = 1.5;
  Vec x = randn(n * in, 1), A = randn(r * in, 2), B = randn(out * r, 3), y0 = randn(n * out, 4), dy = randn(n * out, 5);
  auto f = [&] {
    Vec y = y0, t(n * r);
    k::lora_forward<double>(y.data(), t.data(), x.data(), A.data(), B.data(), n, in, out, r, scale);
    return y;
  };
  Vec y = f();
  for (int64_t i = 0; i < n; ++i)
    for (int64_t o = 0; o < out; ++o) {
      double s = 0;
      for (int64_t p = 0; p < r; ++p) {
        double t = 0;
        for (int64_t j = 0; j < in; ++j) t += x[i * in + j] * A[p * in + j];
        s += t * B[o * r + p];
      }
      CHECK(y[i * out + o] == Approx(y0[i * out + o] + scale * s).epsilon(1e-12));
    }
  Vec t(n * r), yy = y0;
  k::lora_forward<double>(yy.data(), t.data(), x.data(), A.data(), B.data(), n, in, out, r, scale);
  Vec dx(n * in, 0.0), dA(r * in, 0.0), dB(out * r, 0.0), dt(n * r);
  k::lora_backward<double>(dx.data(), dA.data(), dB.data(), dt.data(), dy.data(), x.data(), t.data(),
                           A.data(), B.data(), n, in, out, r, scale);
  auto L = [&] { return dot(dy, f()); };
  CHECK(max_abs_diff(dx, numeric_grad(x, L)) < 1e-8);
  CHECK(max_abs_diff(dA, numeric_grad(A, L)) < 1e-8);
  CHECK(max_abs_diff(dB, numeric_grad(B, L)) < 1e-8);
}

TEST_CASE("dropout: deterministic mask, rate p, inverted scaling, backward uses the same mask", "[kernels]") {
  const int64_t c = 20000;
  const float p = 0.25f;
  Vec x(c, 1.0), y(c), y2(c);
  k::dropout_forward<double>(y.data(), x.data(), c, p, 42);
  k::dropout_forward<double>(y2.data(), x.data(), c, p, 42);
  CHECK(y == y2);
  int64_t kept = 0;
  for (int64_t i = 0; i < c; ++i) {
    CHECK((y[i] == 0.0 || y[i] == Approx(1.0 / (1.0 - p))));
    kept += y[i] != 0.0;
    CHECK((y[i] != 0.0) == k::dropout_keep(42, i, p));
  }
  CHECK(std::abs(double(kept) / c - (1.0 - p)) < 0.02);
  k::dropout_forward<double>(y2.data(), x.data(), c, p, 43);
  CHECK(y != y2);
  Vec dy = randn(c, 3), dx(c, 0.0);
  k::dropout_backward<double>(dx.data(), dy.data(), c, p, 42);
  for (int64_t i = 0; i < c; ++i) CHECK(dx[i] == Approx(y[i] * dy[i]));
}

TEST_CASE("scalar head reads the given row per sequence", "[kernels]") {
  const int64_t d = 4;
  Vec h = randn(6 * d, 1), w = randn(d, 2), dr = {0.5, -2.0};
  const std::vector<int32_t> idx{2, 5};
  Vec r(2);
  k::scalar_head_forward<double>(r.data(), h.data(), idx.data(), 2, w.data(), 0.25, d);
  for (int s = 0; s < 2; ++s) {
    double e = 0.25;
    for (int64_t j = 0; j < d; ++j) e += h[idx[s] * d + j] * w[j];
    CHECK(r[s] == Approx(e));
  }
  Vec dw(d, 0.0), db(1, 0.0), dh(6 * d, 0.0);
  k::scalar_head_backward<double>(dw.data(), db.data(), dh.data(), dr.data(), h.data(), idx.data(), 2, w.data(), d);
  CHECK(db[0] == Approx(-1.5));
  for (int64_t j = 0; j < d; ++j) {
    CHECK(dw[j] == Approx(0.5 * h[2 * d + j] - 2.0 * h[5 * d + j]));
    CHECK(dh[2 * d + j] == Approx(0.5 * w[j]));
    CHECK(dh[0 * d + j] == 0.0);
  }
}

TEST_CASE("float instantiations agree with double", "[kernels]") {
  const int64_t H = 2, KV = 1, hd = 8, N = 40, S = 2, D = 16;
  const std::vector<int32_t> cu{0, 25, 40};
  Vec q = randn(N * H * hd, 1), kk = randn(N * KV * hd, 2), v = randn(N * KV * hd, 3);
  std::vector<float> qf(q.begin(), q.end()), kf(kk.begin(), kk.end()), vf(v.begin(), v.end());
  const k::AttentionShape sh{N, H, KV, hd};
  Vec out(N * H * hd), lse(H * N), work(2 * 25 * 25);
  std::vector<float> outf(out.size()), lsef(lse.size()), workf(work.size());
  k::attention_forward<double>(out.data(), lse.data(), q.data(), kk.data(), v.data(), cu.data(), S, sh, work.data());
  k::attention_forward<float>(outf.data(), lsef.data(), qf.data(), kf.data(), vf.data(), cu.data(), S, sh, workf.data());
  for (size_t i = 0; i < lse.size(); ++i) CHECK(lsef[i] == Approx(lse[i]).margin(1e-5));
  for (size_t i = 0; i < out.size(); ++i) CHECK(outf[i] == Approx(out[i]).margin(1e-5));
  Vec x = randn(N * D, 4), w = randn(D, 5), y(N * D), r(N);
  std::vector<float> xf(x.begin(), x.end()), wf(w.begin(), w.end()), yf(N * D), rf(N);
  k::rmsnorm_forward<double>(y.data(), r.data(), x.data(), w.data(), N, D, 1e-6);
  k::rmsnorm_forward<float>(yf.data(), rf.data(), xf.data(), wf.data(), N, D, 1e-6);
  for (size_t i = 0; i < y.size(); ++i) CHECK(yf[i] == Approx(y[i]).margin(1e-5));
}

TEST_CASE("elementwise helpers", "[kernels]") {
  Vec a = randn(100000, 1), b = randn(100000, 2), y(100000);  // above the threading threshold
  k::add<double>(y.data(), a.data(), b.data(), y.size());
  k::axpy<double>(y.data(), 2.0, a.data(), y.size());
  k::scale<double>(y.data(), 0.5, y.size());
  for (size_t i = 0; i < y.size(); i += 997) CHECK(y[i] == Approx(0.5 * (3 * a[i] + b[i])));
  k::zero<double>(y.data(), y.size());
  for (double v : y) REQUIRE(v == 0.0);
}
