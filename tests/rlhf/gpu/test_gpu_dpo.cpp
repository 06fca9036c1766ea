// The DPO trainer on the GPU (DpoTrainer with cuda = true: the engine's LogprobTrainer, one fp32
// base on the device with the policy as its trainable adapter and the reference as its frozen
// adapter or the base alone) against the same trainer on the CPU engine, in both reference modes,
// on a tiny model written by the test. Skipped without a CUDA device.
//
// Tolerance: both devices compute in fp32 and differ in summation order only (logits ~1e-6
// relative, tests/gpu/model/test_gpu_logprob.cpp). Per step, the loss, margin, log ratios and the
// gradient norm agree to 1e-4 relative (1e-4 absolute near 0); after six AdamW steps the LoRA
// tensors agree to 1e-3 of their largest entry — the bounds the GPU trainer's own tests use
// (tests/gpu/model/test_gpu_trainer_lora.cpp), since AdamW's normalised update magnifies
// differences in small gradient entries. At the first step the policy equals the reference on
// both devices exactly: log ratios 0 and loss log 2 with no tolerance.
#include <catch2/catch.hpp>

#include <cmath>

#include "wb/llama/adapter_io.h"
#include "wb/llama/device.h"
#include "wb/llama/model_io.h"
#include "wb/llama/rng.h"
#include "wb/rlhf/dpo_trainer.h"
#include "../dpo_trainer_cases.h"
#include "wb_skip.h"
#include "wb_temp_dir.h"

using namespace wb;
using namespace wb::rlhf;
namespace fs = std::filesystem;

namespace {

void require_cuda() {
  const std::string why = llama::cuda_unavailable();
  if (!why.empty()) WB_SKIP(("no CUDA device: " + why).c_str());
}

bool close(double a, double b, double tol = 1e-4) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); }

llama::TrainerConfig config(int64_t steps) {
  llama::TrainerConfig tc;
  tc.total_steps = steps;
  tc.micro_batches = 2;
  tc.schedule.lr = 1e-2;
  tc.schedule.kind = llama::ScheduleKind::kConstant;
  tc.adamw.max_grad_norm = 0.5;
  tc.adamw.weight_decay = 0.05;
  return tc;
}

double max_rel(const std::vector<float>& got, const std::vector<float>& want) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    err = std::max(err, std::abs(double(got[i]) - double(want[i])));
    scale = std::max(scale, std::abs(double(want[i])));
  }
  return err / std::max(scale, 1e-30);
}

struct Step {
  llama::StepStats st;
  DpoMetrics m;
};

PolicyAndReference load(ReferenceMode mode, const fs::path& dir) {
  // merged: the base plays the derived base (the merge itself is tested on the CPU); adapter: the
  // SFT adapter is the frozen reference and the policy its copy.
  return mode == ReferenceMode::kMerged ? merged_reference(dir / "base", lora_config(4), 11)
                                        : adapter_reference(dir / "base", dir / "sft");
}

}  // namespace

TEST_CASE("a DPO run on the GPU equals the CPU run: losses, log ratios, grad norms, adapter, eval", "[rlhf][dpo][gpu]") {
  require_cuda();
  wbtest::TempDir tmp("wb-dpo-gpu");
  write_base_and_sft(tmp.path());
  const auto ex = examples(16);
  const int64_t steps = 6;
  const auto train = batches(ex, steps * 2, 3, 4);
  const auto held_out = batches(ex, 2, 4, 9);
  for (const ReferenceMode mode : {ReferenceMode::kMerged, ReferenceMode::kAdapter}) {
    INFO("reference " << reference_mode_name(mode));
    PolicyAndReference pc = load(mode, tmp.path()), pg = load(mode, tmp.path());
    DpoTrainer tc(pc, train, 0.5, config(steps));
    DpoTrainer tg(pg, train, 0.5, config(steps), /*cuda=*/true);
    REQUIRE(tg.on_gpu());
    std::vector<Step> sc, sg;
    tc.on_step = [&](const llama::StepStats& s, const DpoMetrics& m) { sc.push_back({s, m}); };
    tg.on_step = [&](const llama::StepStats& s, const DpoMetrics& m) { sg.push_back({s, m}); };
    const DpoMetrics ec0 = tc.evaluate(held_out), eg0 = tg.evaluate(held_out);
    CHECK(eg0.chosen_log_ratio == 0.0);
    CHECK(eg0.loss == Approx(std::log(2.0)).epsilon(1e-12));
    CHECK(ec0.loss == Approx(std::log(2.0)).epsilon(1e-12));
    while (!tc.finished()) tc.step();
    while (!tg.finished()) tg.step();
    REQUIRE(sg.size() == sc.size());
    // Step 1 is measured before any update: the policy is the reference exactly on both devices.
    CHECK(sg[0].m.loss == Approx(std::log(2.0)).epsilon(1e-12));
    CHECK(sg[0].m.chosen_log_ratio == 0.0);
    CHECK(sg[0].m.rejected_log_ratio == 0.0);
    for (size_t i = 0; i < sc.size(); ++i) {
      INFO("step " << i + 1 << ": cpu loss " << sc[i].m.loss << " gpu " << sg[i].m.loss);
      CHECK(close(sg[i].m.loss, sc[i].m.loss));
      CHECK(close(sg[i].m.margin, sc[i].m.margin));
      CHECK(close(sg[i].m.chosen_log_ratio, sc[i].m.chosen_log_ratio));
      CHECK(close(sg[i].m.rejected_log_ratio, sc[i].m.rejected_log_ratio));
      CHECK(close(sg[i].st.grad_norm, sc[i].st.grad_norm));
      CHECK(sg[i].st.tokens == sc[i].st.tokens);
    }
    CHECK(sc.back().m.loss < std::log(2.0));  // it learned something worth comparing
    tg.sync_model();
    CHECK(max_rel(lora_values(*pg.model.lora), lora_values(*pc.model.lora)) < 1e-3);
    const DpoMetrics ec = tc.evaluate(held_out), eg = tg.evaluate(held_out);
    CHECK(close(eg.loss, ec.loss));
    CHECK(close(eg.margin, ec.margin));
    // The reference never changed: on the GPU the frozen adapter (or the base) still gives the
    // CPU's reference log-probs, so the ratios agree with the CPU's after training too.
    CHECK(close(eg.chosen_log_ratio, ec.chosen_log_ratio));
    if (pg.reference) CHECK(lora_values(*pg.reference) == lora_values(*pc.reference));
  }
}

TEST_CASE("DPO checkpoints move between the GPU and the CPU trainer", "[rlhf][dpo][gpu]") {
  require_cuda();
  wbtest::TempDir tmp("wb-dpo-gpu-ckpt");
  write_base_and_sft(tmp.path());
  const auto ex = examples(12);
  const auto train = batches(ex, 8, 3, 5);
  PolicyAndReference pg = load(ReferenceMode::kAdapter, tmp.path());
  DpoTrainer tg(pg, train, 0.5, config(4), /*cuda=*/true);
  for (int i = 0; i < 2; ++i) tg.step();
  tg.save(tmp.path() / "ckpt-gpu");
  // The CPU trainer resumes the GPU's checkpoint and takes the step the GPU takes next.
  PolicyAndReference pc = load(ReferenceMode::kAdapter, tmp.path());
  DpoTrainer tc(pc, train, 0.5, config(4));
  tc.load(tmp.path() / "ckpt-gpu");
  CHECK(tc.steps_done() == 2);
  CHECK(max_rel(lora_values(*pc.model.lora), lora_values(*pg.model.lora)) == 0.0);
  double lc = 0, lg = 0;
  tc.on_step = [&](const llama::StepStats&, const DpoMetrics& m) { lc = m.loss; };
  tg.on_step = [&](const llama::StepStats&, const DpoMetrics& m) { lg = m.loss; };
  tc.step();
  tg.step();
  CHECK(close(lg, lc));
  // And the other way: a CPU checkpoint into a fresh GPU trainer.
  tc.save(tmp.path() / "ckpt-cpu");
  PolicyAndReference pg2 = load(ReferenceMode::kAdapter, tmp.path());
  DpoTrainer tg2(pg2, train, 0.5, config(4), /*cuda=*/true);
  tg2.load(tmp.path() / "ckpt-cpu");
  CHECK(tg2.steps_done() == 3);
  double lg2 = 0;
  tg2.on_step = [&](const llama::StepStats&, const DpoMetrics& m) { lg2 = m.loss; };
  tc.step();
  tg2.step();
  CHECK(close(lg2, lc));
  // A checkpoint of another shape is refused with the GPU trainer unchanged.
  PolicyAndReference other = merged_reference(tmp.path() / "base", lora_config(2), 3);
  DpoTrainer t_other(other, train, 0.5, config(4));
  t_other.save(tmp.path() / "ckpt-other");
  CHECK_THROWS_AS(tg2.load(tmp.path() / "ckpt-other"), llama::CheckpointError);
  CHECK(tg2.steps_done() == 4);
}
