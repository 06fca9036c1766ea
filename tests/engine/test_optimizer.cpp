// AdamW kernel + optimizer: the update matches the formula computed independently in double,
// clipping and accumulation scale the gradient as documented, and state export/import round-trips.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <vector>

#include "wb/kernels/adamw.h"
#include "wb/llama/optimizer.h"
#include "wb/llama/rng.h"

using namespace wb::llama;

namespace {

// Reference AdamW in double, written from the paper's algorithm.
struct RefAdamW {
  double lr, b1, b2, eps, wd;
  std::vector<double> p, m, v;
  int t = 0;
  void step(const std::vector<double>& g) {
    ++t;
    for (size_t i = 0; i < p.size(); ++i) {
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const double mh = m[i] / (1 - std::pow(b1, t)), vh = v[i] / (1 - std::pow(b2, t));
      p[i] -= lr * (mh / (std::sqrt(vh) + eps) + wd * p[i]);
    }
  }
};

}  // namespace

TEST_CASE("adamw kernel matches the double reference over several steps", "[optimizer]") {
  Rng rng(7);
  const int n = 1000;
  std::vector<float> p(n), g(n), m(n, 0), v(n, 0);
  for (auto& x : p) x = rng.normal();
  RefAdamW ref{1e-2, 0.9, 0.95, 1e-5, 0.1, {}, std::vector<double>(n, 0), std::vector<double>(n, 0)};
  ref.p.assign(p.begin(), p.end());
  for (int step = 1; step <= 5; ++step) {
    for (auto& x : g) x = rng.normal();
    wb::kernels::AdamWStep s;
    s.lr = 1e-2f; s.beta1 = 0.9f; s.beta2 = 0.95f; s.eps = 1e-5f; s.weight_decay = 0.1f; s.step = step;
    wb::kernels::adamw_update(p.data(), g.data(), m.data(), v.data(), n, s);
    ref.step(std::vector<double>(g.begin(), g.end()));
  }
  double max_err = 0;
  for (int i = 0; i < n; ++i) max_err = std::max(max_err, std::fabs(p[i] - ref.p[i]));
  CHECK(max_err < 1e-5);
  // The first step moves every weight by about lr (m^/sqrt(v^) = sign(g)), not 0.
  CHECK(std::fabs(p[0] - ref.p[0]) < 1e-5);
}

TEST_CASE("decoupled weight decay shrinks weights even with zero gradient", "[optimizer]") {
  std::vector<float> p{2.0f, -4.0f}, g{0, 0}, m{0, 0}, v{0, 0};
  wb::kernels::AdamWStep s;
  s.lr = 0.1f; s.weight_decay = 0.5f; s.step = 1;
  wb::kernels::adamw_update(p.data(), g.data(), m.data(), v.data(), 2, s);
  CHECK(p[0] == Approx(2.0 - 0.1 * 0.5 * 2.0));
  CHECK(p[1] == Approx(-4.0 + 0.1 * 0.5 * 4.0));
}

TEST_CASE("optimizer: grad norm, clipping and accumulation scale", "[optimizer]") {
  std::vector<float> a{3, 0}, ga{3, 0}, b{0}, gb{4};  // grads: (3,0) and (4) -> norm 5
  AdamWConfig cfg;
  cfg.max_grad_norm = 1.0;
  AdamW opt(cfg, {{"a", a.data(), ga.data(), 2, true}, {"b", b.data(), gb.data(), 1, false}});
  CHECK(opt.numel() == 3);
  CHECK(opt.global_grad_norm() == Approx(5.0));
  CHECK(opt.global_grad_norm(0.5) == Approx(2.5));  // 1/2 for two accumulated micro-batches
  CHECK(opt.clip_coefficient(5.0) == Approx(0.2));
  CHECK(opt.clip_coefficient(0.5) == 1.0);

  // Scaling the gradient by c before the moments equals feeding c*g: compare two optimizers.
  std::vector<float> a2{3, 0}, ga2{0.6f, 0}, b2{0}, gb2{0.8f};
  AdamW opt2(cfg, {{"a", a2.data(), ga2.data(), 2, true}, {"b", b2.data(), gb2.data(), 1, false}});
  opt.step(1e-2, 0.2);
  opt2.step(1e-2, 1.0);
  CHECK(opt.steps() == 1);
  for (int i = 0; i < 2; ++i) CHECK(a[i] == Approx(a2[i]).epsilon(1e-6));
  CHECK(b[0] == Approx(b2[0]).epsilon(1e-6));
  opt.zero_grad();
  CHECK(ga[0] == 0.0f);
  CHECK(gb[0] == 0.0f);
}

TEST_CASE("optimizer state export/import continues bit-identically", "[optimizer]") {
  Rng rng(3);
  std::vector<float> w(64), g(64);
  for (auto& x : w) x = rng.normal();
  std::vector<float> w2 = w;
  AdamWConfig cfg;
  cfg.weight_decay = 0.1;
  AdamW o1(cfg, {{"w", w.data(), g.data(), 64, true}});
  for (auto& x : g) x = rng.normal();
  o1.step(1e-3);
  // A second optimizer on a copy takes over o1's state and must track it exactly.
  w2 = w;
  std::vector<float> g2(64);
  AdamW o2(cfg, {{"w", w2.data(), g2.data(), 64, true}});
  o2.import_state(o1.steps(), o1.export_state());
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < 64; ++i) g[i] = g2[i] = rng.normal();
    o1.step(1e-3);
    o2.step(1e-3);
  }
  CHECK(std::memcmp(w.data(), w2.data(), 64 * sizeof(float)) == 0);
}

TEST_CASE("optimizer rejects bad configuration and mismatched state", "[optimizer]") {
  std::vector<float> w(4), g(4);
  AdamWConfig bad;
  bad.beta1 = 1.0;
  CHECK_THROWS_WITH(AdamW(bad, {{"w", w.data(), g.data(), 4, true}}), Catch::Contains("beta1"));
  CHECK_THROWS_WITH(AdamW(AdamWConfig{}, {{"w", w.data(), g.data(), 4, true}, {"w", w.data(), g.data(), 4, true}}),
                    Catch::Contains("duplicate"));
  AdamW opt(AdamWConfig{}, {{"w", w.data(), g.data(), 4, true}});
  CHECK_THROWS_WITH(opt.import_state(1, {{"x", std::vector<float>(4), std::vector<float>(4)}}), Catch::Contains("'w'"));
  CHECK_THROWS_WITH(opt.import_state(1, {{"w", std::vector<float>(3), std::vector<float>(3)}}), Catch::Contains("wrong size"));
  CHECK(opt.steps() == 0);
}
