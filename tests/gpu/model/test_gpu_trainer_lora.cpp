// The GPU trainer (wb/llama/cuda/trainer.h) training LoRA, against the CPU Trainer (trainer.h) on a
// tiny model with GQA and LoRA on all seven linears: packed micro-batches with prompt masks and a
// fractional weight, gradient accumulation, warm-up + cosine schedule, weight decay and clipping
// that bites. In fp32 the read-out losses and gradient norms agree to 1e-4 (relative) and the
// final LoRA weights to 1e-3 (max abs error over max abs value, A and B separately); a checkpoint
// written by the GPU trainer resumes on the CPU Trainer. bf16 storage stays within 5% of the
// CPU loss. Skipped without a GPU.
#include <cmath>
#include <string>
#include <vector>

#include "../gpu_test_util.h"
#include "tiny_model.h"
#include "train_cases.h"
#include "wb_temp_dir.h"
#include "wb/llama/cuda/trainer.h"
#include "wb/llama/model.h"
#include "wb/llama/trainer.h"

using namespace wb;
using namespace wb::cuda::test;
using gputest::tiny;

namespace {

// The base model with a fresh PEFT-style adapter (B = 0), LoRA trainable.
using gputest::lora_model;

std::vector<llama::TrainBatch> batches() { return gputest::sft_batches(); }
llama::TrainerConfig config(int64_t total, double clip) { return gputest::train_config(total, clip); }

// Every A (b = false) or B matrix of the adapter, concatenated in for_each order.
std::vector<float> lora_values(const llama::Model<float>& m, bool b) {
  std::vector<float> out;
  m.lora->for_each([&](const std::string& name, const llama::Tensor<float>& t) {
    if ((name.find("lora_B") != std::string::npos) == b)
      out.insert(out.end(), t.data.begin(), t.data.end());
  });
  return out;
}

}  // namespace

TEST_CASE("GPU trainer (LoRA) matches the CPU Trainer step for step (fp32)", "[gpu]") {
  require_device();
  const int64_t K = 6, total = K + 1;
  // Clip at half the first step's gradient norm, so clipping changes at least that step.
  double clip = 0;
  {
    auto m = lora_model();
    llama::InMemoryDataSource d(batches());
    llama::Trainer t(m, d, config(total, 0.0));
    clip = 0.5 * t.step().grad_norm;
    REQUIRE(clip > 0);
  }

  auto cpu_model = lora_model();
  llama::InMemoryDataSource cpu_data(batches());
  llama::Trainer cpu(cpu_model, cpu_data, config(total, clip));
  std::vector<llama::StepStats> want;
  for (int64_t s = 0; s < K; ++s) want.push_back(cpu.step());

  cuda::Context ctx;
  auto gpu_model = lora_model();
  llama::InMemoryDataSource gpu_data(batches());
  gpu::GpuTrainer<float> g(ctx, gpu_model, gpu_data, config(total, clip), /*loss_every=*/2);
  int64_t read = 0;
  for (int64_t s = 0; s < K; ++s) {
    const gpu::GpuStepStats st = g.step();
    INFO("step " << st.step);
    REQUIRE(st.step == want[s].step);
    CHECK(st.lr == Approx(want[s].lr).epsilon(1e-12));
    CHECK(st.tokens == want[s].tokens);
    // Clipping on: the norm is read every step; the loss only every second one.
    CHECK(st.grad_norm == Approx(want[s].grad_norm).epsilon(1e-4));
    REQUIRE(st.loss_read == (st.step % 2 == 0));
    if (st.loss_read) {
      ++read;
      CHECK(st.loss == Approx(want[s].loss).epsilon(1e-4));
    } else {
      CHECK(std::isnan(st.loss));
    }
  }
  CHECK(read == K / 2);
  CHECK(want[0].grad_norm > clip);
  g.sync_to_host();
  CHECK(rel_err(lora_values(gpu_model, false), lora_values(cpu_model, false)) < 1e-3);
  CHECK(rel_err(lora_values(gpu_model, true), lora_values(cpu_model, true)) < 1e-3);
  // The adapter moved: B started at zero.
  CHECK(rel_err(lora_values(gpu_model, true), std::vector<float>(lora_values(gpu_model, true).size())) > 0.5);

  // The GPU checkpoint is the CPU Trainer's format: a CPU trainer resumes it, and its last step
  // matches the uninterrupted CPU run and the GPU trainer's own last step.
  wbtest::TempDir dir("wb-gpu-lora");
  g.save(dir / "ckpt");
  auto resumed_model = lora_model();
  llama::InMemoryDataSource resumed_data(batches());
  llama::Trainer resumed(resumed_model, resumed_data, config(total, clip));
  resumed.load(dir / "ckpt");
  REQUIRE(resumed.steps_done() == K);
  const auto last_cpu = cpu.step();
  const auto last_resumed = resumed.step();
  const auto last_gpu = g.step();
  REQUIRE(last_gpu.loss_read);  // the final step always reads back
  CHECK(last_resumed.loss == Approx(last_cpu.loss).epsilon(1e-4));
  CHECK(last_gpu.loss == Approx(last_cpu.loss).epsilon(1e-4));
  CHECK(g.finished());

  // And the GPU trainer loads a CPU checkpoint: same weights back.
  cpu.save(dir / "cpu_ckpt");
  auto reload_model = lora_model();
  llama::InMemoryDataSource reload_data(batches());
  gpu::GpuTrainer<float> g2(ctx, reload_model, reload_data, config(total, clip));
  g2.load(dir / "cpu_ckpt");
  CHECK(g2.steps_done() == total);
  CHECK(lora_values(reload_model, true) == lora_values(cpu_model, true));
}

TEST_CASE("GPU trainer (LoRA) in bf16 stays near the CPU loss, unsupported setups are refused",
          "[gpu]") {
  require_device();
  cuda::Context ctx;
  {
    auto cpu_model = lora_model();
    llama::InMemoryDataSource cpu_data(batches());
    llama::Trainer cpu(cpu_model, cpu_data, config(4, 1.0));
    auto gpu_model = lora_model();
    llama::InMemoryDataSource gpu_data(batches());
    gpu::GpuTrainer<cuda::bf16> g(ctx, gpu_model, gpu_data, config(4, 1.0));
    for (int s = 0; s < 4; ++s) {
      const auto want = cpu.step();
      const auto got = g.step();
      REQUIRE(got.loss_read);
      CHECK(std::fabs(got.loss - want.loss) < 0.05 * want.loss);
    }
  }
  auto m = lora_model();
  llama::InMemoryDataSource d(batches());
  m.trainable = {};
  CHECK_THROWS_WITH((gpu::GpuTrainer<float>(ctx, m, d, config(2, 0))),
                    Catch::Contains("nothing trainable"));
  m.trainable = {.lora = true};
  {
    auto rc = config(2, 0);
    rc.recompute = true;
    CHECK_THROWS_WITH((gpu::GpuTrainer<float>(ctx, m, d, rc)), Catch::Contains("recomputation"));
    rc.recompute = false;
    rc.loss = llama::LossKind::kRanking;
    CHECK_THROWS_WITH((gpu::GpuTrainer<float>(ctx, m, d, rc)), Catch::Contains("scalar head"));
  }
  m.lora->config.lora_dropout = 0.1;
  CHECK_THROWS_WITH((gpu::GpuTrainer<float>(ctx, m, d, config(2, 0))),
                    Catch::Contains("dropout"));
  m.lora->config.lora_dropout = 0.0;
  CHECK_THROWS_WITH((gpu::GpuTrainer<float>(ctx, m, d, config(2, 0), 0)),
                    Catch::Contains("loss_every"));
  {
    auto bad_opt = config(2, 0);
    bad_opt.adamw.beta1 = 1.0;  // would train to NaN: refused as the CPU Trainer refuses it
    CHECK_THROWS_WITH((gpu::GpuTrainer<float>(ctx, m, d, bad_opt)), Catch::Contains("adamw: beta1"));
  }
  // A malformed micro-batch is refused before anything runs; the data position is kept.
  std::vector<llama::TrainBatch> bad = batches();
  bad[0].targets.pop_back();
  llama::InMemoryDataSource bd(bad);
  gpu::GpuTrainer<float> g(ctx, m, bd, config(2, 0));
  CHECK_THROWS_WITH(g.step(), Catch::Contains("targets has"));
  CHECK(bd.position() == nlohmann::json{{"epoch", 0}, {"index", 0}});
  CHECK(g.steps_done() == 0);
}
