// The dpo job on the GPU through the real daemon (tests/rlhf/dpo's fixture: a tiny model, an SFT
// adapter and a separable preference set): the same spec with device "cpu" and device "cuda" (and
// "auto", which picks the GPU where one answers) gives the same per-step DPO metrics and held-out
// metrics within tolerance, and its adapter is registered over the derived base. Skipped without
// a CUDA device.
//
// Tolerance: both devices compute in fp32 and differ in summation order only; per-step losses,
// margins and log ratios are compared to 1e-3 relative (1e-3 absolute near 0), the bound the
// rejection_sampling job's GPU test uses for a LoRA trained over several AdamW steps through the
// daemon (tests/rlhf/gpu/test_gpu_rs_job.cpp); the first step (policy = reference) exactly.
#include <catch2/catch.hpp>

#include <cmath>

#include "dpo_fixture.h"
#include "wb/llama/device.h"
#include "wb_skip.h"

using namespace dpotest;

TEST_CASE("dpo on cuda gives the CPU run's DPO metrics", "[rlhf][dpo][gpu][integration]") {
  if (const std::string why = wb::llama::cuda_unavailable(); !why.empty()) WB_SKIP(("no CUDA device: " + why).c_str());
  DpoDaemon d;
  const json spec = {{"model", "base"}, {"adapter", "sft"}, {"dataset", "prefs"}, {"beta", 0.5}, {"lr", 5e-3},
                     {"max_steps", 6}, {"batch_size", 4}, {"rank", 4}, {"seed", 2}};
  json on_cpu = spec, on_gpu = spec, on_auto = spec;
  on_cpu.update({{"device", "cpu"}, {"output", "dpo-cpu"}});
  on_gpu.update({{"device", "cuda"}, {"output", "dpo-gpu"}});
  on_auto.update({{"device", "auto"}, {"output", "dpo-auto"}, {"max_steps", 1}});
  const int64_t cj = d.run_job("dpo", on_cpu)["id"];
  const int64_t gj = d.run_job("dpo", on_gpu)["id"];
  const int64_t aj = d.run_job("dpo", on_auto)["id"];
  CHECK(d.logged(gj, "device: cuda ("));
  CHECK(d.logged(aj, "device: cuda ("));
  CHECK(d.logged(cj, "device: cpu"));
  auto close = [](double a, double b) { return std::abs(a - b) <= 1e-3 * std::max(1.0, std::abs(b)); };
  CHECK(d.metric(gj, "train_loss").front().second == Approx(std::log(2.0)).epsilon(1e-12));
  CHECK(d.metric(gj, "chosen_log_ratio").front().second == 0.0);
  for (const std::string m : {"train_loss", "margin", "chosen_log_ratio", "rejected_log_ratio", "eval_loss",
                              "eval_margin", "eval_chosen_log_ratio"}) {
    const auto c = d.metric(cj, m), g = d.metric(gj, m);
    REQUIRE(!c.empty());
    REQUIRE(g.size() == c.size());
    for (size_t i = 0; i < c.size(); ++i) {
      INFO(m << " step " << c[i].first << ": cpu " << c[i].second << " gpu " << g[i].second);
      CHECK(close(g[i].second, c[i].second));
    }
  }
  const json rec = d.record("adapter", "dpo-gpu");
  REQUIRE(rec.is_object());
  CHECK(rec.dump().find("dpo-gpu-base") != std::string::npos);
}
