// The rejection_sampling job on the GPU through the real daemon (tests/rlhf/ppo's fixture: a tiny
// model, an SFT adapter and both reward models trained by the test): the same spec with device
// "cpu" and device "cuda" gives the same best-of-N curve and kept rewards per round and the same
// SFT losses within tolerance. Skipped without a CUDA device.
//
// Tolerance: both devices compute in fp32 and differ in summation order only; the rewards are
// compared to 1e-4 relative (the answers are drawn by the same host sampler with the same seeds,
// see test_gpu_rejection_sampling.cpp) and the SFT losses to 1e-3 relative, the tolerance the
// reward job's GPU test uses for a LoRA trained over several AdamW steps.
#include <catch2/catch.hpp>

#include <cmath>

#include "rl_fixture.h"
#include "wb/llama/device.h"
#include "wb_skip.h"

using namespace rltest;

TEST_CASE("rejection_sampling on cuda keeps the CPU's rewards and trains with its losses", "[rlhf][rs][gpu][integration]") {
  if (const std::string why = wb::llama::cuda_unavailable(); !why.empty()) WB_SKIP(("no CUDA device: " + why).c_str());
  RlDaemon d;
  json spec = {{"model", "base"}, {"adapter", "sft"}, {"helpfulness", "rm-h"}, {"safety", "rm-s"},
               {"dataset", "prompts"}, {"k", 4}, {"rounds", 2}, {"max_new_tokens", 6}, {"batch_size", 4},
               {"lr", 1e-3}, {"seed", 7}};
  json on_cpu = spec, on_gpu = spec;
  on_cpu.update({{"device", "cpu"}, {"output", "rs-cpu"}});
  on_gpu.update({{"device", "cuda"}, {"output", "rs-gpu"}});
  const int64_t cj = d.run_job("rejection_sampling", on_cpu)["id"];
  const int64_t gj = d.run_job("rejection_sampling", on_gpu)["id"];
  CHECK(d.logged(gj, "device: cuda ("));
  CHECK(d.logged(cj, "device: cpu"));
  auto close = [](double a, double b, double tol) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); };
  for (const std::string m : {"kept_reward", "max_reward_n1", "max_reward_n4", "median_reward_n4"}) {
    const auto c = d.metric(cj, m), g = d.metric(gj, m);
    REQUIRE(c.size() == 2);
    REQUIRE(g.size() == c.size());
    for (size_t i = 0; i < c.size(); ++i) {
      INFO(m << " round " << c[i].first << ": cpu " << c[i].second << " gpu " << g[i].second);
      CHECK(close(g[i].second, c[i].second, 1e-4));
    }
  }
  const auto cl = d.metric(cj, "train_loss"), gl = d.metric(gj, "train_loss");
  REQUIRE(cl.size() == 6);
  REQUIRE(gl.size() == cl.size());
  for (size_t i = 0; i < cl.size(); ++i) {
    INFO("step " << cl[i].first << ": cpu " << cl[i].second << " gpu " << gl[i].second);
    CHECK(close(gl[i].second, cl[i].second, 1e-3));
  }
  CHECK(d.record("adapter", "rs-gpu").is_object());
}
