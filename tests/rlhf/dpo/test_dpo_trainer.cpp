// The DPO trainer's pieces on a tiny real model written to files by the test: both reference
// modes start with the policy equal to the reference (log ratios 0, loss log 2), the derived base
// of mode merged computes what base + SFT adapter computes, a checkpointed and resumed run ends
// with the uninterrupted run's adapter bit for bit, and micro-batches count answer rows only.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "wb/llama/adapter_io.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/model_io.h"
#include "wb/llama/rng.h"
#include "wb_temp_dir.h"
#include "wb/rlhf/dpo_trainer.h"
#include "../dpo_trainer_cases.h"

using namespace wb;
using namespace wb::rlhf;
namespace fs = std::filesystem;

namespace {

llama::TrainerConfig config(int64_t steps) {
  llama::TrainerConfig tc;
  tc.total_steps = steps;
  tc.schedule.lr = 1e-2;
  tc.schedule.kind = llama::ScheduleKind::kConstant;
  tc.adamw.max_grad_norm = 1.0;
  return tc;
}

}  // namespace

TEST_CASE("pack_dpo_batch puts chosen then rejected per pair and masks answer rows only", "[rlhf][dpo]") {
  const auto ex = examples(2);
  const DpoBatch b = pack_dpo_batch({&ex[0], &ex[1]});
  REQUIRE(b.batch.n_seqs() == 4);
  REQUIRE(b.rows.targets.size() == 28);
  // Sequence 0 (chosen of pair 0): rows 3..5 predict the three answer tokens, row 6 nothing.
  for (int i = 0; i < 7; ++i) CHECK(b.rows.mask[static_cast<size_t>(i)] == (i >= 3 && i <= 5 ? 1.0 : 0.0));
  CHECK(b.rows.targets[3] == ex[0].chosen.tokens[4]);
  CHECK(b.rows.targets[6] == -1);
  CHECK(b.batch.tokens[7] == ex[0].rejected.tokens[0]);
  CHECK_THROWS_AS(pack_dpo_batch({}), std::invalid_argument);
}

TEST_CASE("reference adapter: the policy copy starts with log ratios 0 and loss log 2", "[rlhf][dpo]") {
  wbtest::TempDir tmp("wb-dpo");
  write_base_and_sft(tmp.path());
  PolicyAndReference pr = adapter_reference(tmp.path() / "base", tmp.path() / "sft");
  REQUIRE(pr.reference);
  const auto ex = examples(8);
  DpoTrainer t(pr, batches(ex, 3, 4, 1), 0.1, config(3));
  std::vector<DpoMetrics> seen;
  t.on_step = [&](const llama::StepStats&, const DpoMetrics& m) { seen.push_back(m); };
  while (!t.finished()) t.step();
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].chosen_log_ratio == 0.0);
  CHECK(seen[0].rejected_log_ratio == 0.0);
  CHECK(seen[0].loss == Approx(std::log(2.0)).epsilon(1e-12));
  CHECK(seen[0].accuracy == 0.0);
  // The policy moved, the reference did not.
  CHECK(seen[2].chosen_log_ratio != 0.0);
  const auto sft = llama::load_adapter(tmp.path() / "sft", pr.model.config);
  CHECK(lora_values(*pr.reference) == lora_values(sft));
  CHECK(lora_values(*pr.model.lora) != lora_values(sft));
}

TEST_CASE("reference merged: the derived base equals base + SFT adapter and the fresh policy starts at log 2", "[rlhf][dpo]") {
  wbtest::TempDir tmp("wb-dpo");
  write_base_and_sft(tmp.path());
  write_derived_base(tmp.path() / "base", tmp.path() / "sft", tmp.path() / "derived");
  PolicyAndReference pr = merged_reference(tmp.path() / "derived", lora_config(2), 3);
  CHECK_FALSE(pr.reference);
  const auto ex = examples(4);
  const DpoBatch b = pack_dpo_batch({&ex[0], &ex[1], &ex[2], &ex[3]});
  llama::Workspace<float> ws;
  const auto merged = answer_logprobs(pr.model, b.batch, b.rows, ws, pr.reference_adapters(b.batch.n_seqs()));
  auto base = llama::load_model<float>(tmp.path() / "base");
  base.lora = llama::load_adapter(tmp.path() / "sft", base.config);
  const auto served = answer_logprobs(base, b.batch, b.rows, ws);
  REQUIRE(merged.size() == served.size());
  for (size_t i = 0; i < merged.size(); ++i) CHECK(merged[i] == Approx(served[i]).epsilon(1e-5));

  DpoTrainer t(pr, {b}, 0.1, config(1));
  DpoMetrics first;
  t.on_step = [&](const llama::StepStats&, const DpoMetrics& m) { first = m; };
  t.step();
  CHECK(first.chosen_log_ratio == 0.0);
  CHECK(first.rejected_log_ratio == 0.0);
  CHECK(first.loss == Approx(std::log(2.0)).epsilon(1e-12));
}

TEST_CASE("DPO trainer: loss falls and accuracy rises on a separable set", "[rlhf][dpo]") {
  wbtest::TempDir tmp("wb-dpo");
  write_base_and_sft(tmp.path());
  PolicyAndReference pr = adapter_reference(tmp.path() / "base", tmp.path() / "sft");
  const auto ex = examples(16);
  const auto held_out = batches(ex, 4, 4, 99);
  const DpoMetrics before = dpo_evaluate(pr, held_out, 0.5);
  DpoTrainer t(pr, batches(ex, 30, 4, 1), 0.5, config(30));
  while (!t.finished()) t.step();
  const DpoMetrics after = dpo_evaluate(pr, held_out, 0.5);
  CHECK(before.loss == Approx(std::log(2.0)));
  CHECK(after.loss < before.loss - 0.1);
  CHECK(after.accuracy > 0.9);
  CHECK(after.chosen_log_ratio > after.rejected_log_ratio);
}

TEST_CASE("DPO trainer: a run resumed from a checkpoint ends with the uninterrupted run's adapter", "[rlhf][dpo]") {
  wbtest::TempDir tmp("wb-dpo");
  write_base_and_sft(tmp.path());
  write_derived_base(tmp.path() / "base", tmp.path() / "sft", tmp.path() / "derived");
  const auto ex = examples(10);
  const auto run_batches = batches(ex, 6, 2, 4);
  llama::TrainerConfig tc = config(6);
  tc.micro_batches = 1;

  PolicyAndReference straight = merged_reference(tmp.path() / "derived", lora_config(2), 8);
  DpoTrainer a(straight, run_batches, 0.2, tc);
  while (!a.finished()) a.step();

  PolicyAndReference first = merged_reference(tmp.path() / "derived", lora_config(2), 8);
  DpoTrainer b(first, run_batches, 0.2, tc);
  for (int i = 0; i < 4; ++i) b.step();
  b.save(tmp.path() / "ckpt");

  PolicyAndReference resumed = merged_reference(tmp.path() / "derived", lora_config(2), 8);
  DpoTrainer c(resumed, run_batches, 0.2, tc);
  c.load(tmp.path() / "ckpt");
  CHECK(c.steps_done() == 4);
  while (!c.finished()) c.step();
  CHECK(lora_values(*resumed.model.lora) == lora_values(*straight.model.lora));

  // A checkpoint of another shape is refused and changes nothing.
  PolicyAndReference other = merged_reference(tmp.path() / "derived", lora_config(4), 8);
  DpoTrainer d(other, run_batches, 0.2, tc);
  const auto before = lora_values(*other.model.lora);
  CHECK_THROWS_AS(d.load(tmp.path() / "ckpt"), llama::CheckpointError);
  CHECK(lora_values(*other.model.lora) == before);
  CHECK(d.steps_done() == 0);
}
