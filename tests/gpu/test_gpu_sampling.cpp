// Device argmax and sampling against a host implementation of the rules in wb/cuda/sampling.h.
#include <algorithm>
#include <cmath>

#include "gpu_test_util.h"
#include "wb/cuda/sampling.h"

using namespace wb::cuda;
using namespace wb::cuda::test;

namespace {

// The documented rule, in double: temperature, top-k (ties kept), top-p, then the draw in id
// order. Also reports how close u*total is to a boundary, so tests avoid ambiguous draws.
int32_t host_sample(const std::vector<float>& logits, const DeviceSampling& p, float u,
                    double* margin) {
  const size_t V = logits.size();
  std::vector<double> z(V);
  for (size_t c = 0; c < V; ++c) z[c] = double(logits[c]) / p.temperature;
  double zcut = -INFINITY;
  if (p.top_k > 0 && size_t(p.top_k) < V) {
    auto s = z;
    std::sort(s.begin(), s.end(), std::greater<>());
    zcut = s[p.top_k - 1];
  }
  const double zmax = *std::max_element(z.begin(), z.end());
  std::vector<double> e(V, 0.0);
  double mass = 0;
  for (size_t c = 0; c < V; ++c)
    if (z[c] >= zcut) mass += e[c] = std::exp(z[c] - zmax);
  double ecut = 0;
  if (p.top_p < 1.0f) {
    auto s = e;
    std::sort(s.begin(), s.end(), std::greater<>());
    double acc = 0;
    for (double x : s) {
      acc += x;
      ecut = x;
      if (acc >= p.top_p * mass) break;
    }
  }
  double total = 0;
  for (size_t c = 0; c < V; ++c)
    if (z[c] >= zcut && e[c] >= ecut && e[c] > 0) total += e[c];
  const double target = u * total;
  double acc = 0;
  *margin = INFINITY;
  int32_t chosen = -1;
  for (size_t c = 0; c < V; ++c) {
    if (!(z[c] >= zcut && e[c] >= ecut && e[c] > 0)) continue;
    acc += e[c];
    *margin = std::min(*margin, std::fabs(acc - target) / total);
    if (chosen < 0 && acc > target) chosen = int32_t(c);
  }
  return chosen;
}

}  // namespace

TEMPLATE_TEST_CASE("argmax takes the lowest id among equal maxima", "[gpu]", float,
                   wb::cuda::fp16, wb::cuda::bf16) {
  require_device();
  Context ctx;
  const int64_t n = 3, vocab = 32000;
  auto logits = round_to<TestType>(randn(n * vocab, 80));
  logits[0 * vocab + 31999] = 50.0f;           // last id
  logits[1 * vocab + 7] = logits[1 * vocab + 20000] = 40.0f;  // tie: 7 wins
  logits[2 * vocab + 0] = 30.0f;               // first id
  auto gl = upload_as<TestType>(logits);
  DeviceBuffer<int32_t> out(n);
  argmax_rows<TestType>(ctx, out.data(), gl.data(), n, vocab);
  ctx.synchronize();
  REQUIRE(to_host(out.data(), n) == std::vector<int32_t>{31999, 7, 0});
}

TEST_CASE("sampling follows temperature, top-k and top-p with the host's uniform numbers",
          "[gpu]") {
  require_device();
  Context ctx;
  const int64_t vocab = 200;
  const auto logits = randn(vocab, 81, 2.0f);
  const int64_t argmax = std::max_element(logits.begin(), logits.end()) - logits.begin();
  const std::vector<DeviceSampling> configs = {
      {0.0f, 0, 1.0f},  {1.0f, 0, 1.0f},  {0.7f, 5, 1.0f}, {1.3f, 0, 0.8f},
      {1.0f, 20, 0.5f}, {1.0f, 1, 1.0f},  {2.0f, 0, 1e-4f}};
  std::vector<float> us;
  for (int i = 0; i < 25; ++i) us.push_back((i + 0.37f) / 25.0f);
  // One row per (config, u): the kernel sees every combination in a single launch.
  std::vector<float> rows, row_u;
  std::vector<DeviceSampling> row_p;
  for (const auto& p : configs)
    for (float u : us) {
      rows.insert(rows.end(), logits.begin(), logits.end());
      row_p.push_back(p);
      row_u.push_back(u);
    }
  const int64_t n = int64_t(row_p.size());
  auto gl = to_device(rows);
  auto gp = to_device(row_p);
  auto gu = to_device(row_u);
  DeviceBuffer<int32_t> out(n);
  sample_rows<float>(ctx, out.data(), gl.data(), gp.data(), gu.data(), n, vocab);
  ctx.synchronize();
  const auto got = to_host(out.data(), n);
  int checked = 0;
  for (int64_t i = 0; i < n; ++i) {
    const auto& p = row_p[i];
    if (p.temperature <= 0.0f || p.top_k == 1 || p.top_p < 1e-3f) {
      REQUIRE(got[i] == argmax);
      continue;
    }
    double margin = 0;
    const int32_t want = host_sample(logits, p, row_u[i], &margin);
    if (margin < 1e-4) continue;  // too close to a boundary for fp32 vs double
    INFO("row " << i << " temperature " << p.temperature << " top_k " << p.top_k << " top_p "
                << p.top_p << " u " << row_u[i]);
    REQUIRE(got[i] == want);
    ++checked;
  }
  REQUIRE(checked > 80);
}
