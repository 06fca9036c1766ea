// The GPU trainer (wb/llama/cuda/trainer.h) training every base tensor (pretraining, full SFT)
// against the CPU Trainer on the tiny GQA model: 2 packed micro-batches per step with prompt
// masks and a fractional weight, warm-up + cosine, weight decay (not on norms), clipping that
// bites. In fp32 the losses and gradient norms agree to 1e-4 (relative) and every final tensor
// to 1e-3 (max error over the tensor's max), with an untied LM head and with tied embeddings
// (the embedding's gradient then also comes from the head). Checkpoints go both ways (GPU ->
// CPU Trainer, CPU -> GPU). The trainable-tensor list is the CPU's (names, sizes, decay). bf16
// storage stays within 5% of the CPU loss. A step the device cannot hold is undone (data, RNG,
// gradients), as the CPU Trainer undoes a failed step. Skipped without a GPU.
#include <string>
#include <vector>

#include "../gpu_test_util.h"
#include "wb/cuda/check.h"
#include "tiny_model.h"
#include "train_cases.h"
#include "wb_temp_dir.h"
#include "wb/llama/cuda/trainer.h"
#include "wb/llama/model.h"
#include "wb/llama/trainer.h"

using namespace wb;
using namespace wb::cuda::test;
using gputest::lockstep;
using gputest::max_tensor_err;
using gputest::sft_batches;
using gputest::train_config;

namespace {

using gputest::full_model;
constexpr double kLr = gputest::kFullLr;

// Half the first step's gradient norm: clipping changes at least the first steps.
double clip_for(bool tied, int64_t total) {
  auto m = full_model(tied);
  llama::InMemoryDataSource d(sft_batches());
  llama::Trainer t(m, d, train_config(total, 0.0, kLr));
  return 0.5 * t.step().grad_norm;
}

void full_training_matches(bool tied, bool checkpoints) {
  const int64_t K = 6, total = K + 1;
  const double clip = clip_for(tied, total);
  REQUIRE(clip > 0);
  auto cpu_model = full_model(tied);
  llama::InMemoryDataSource cpu_data(sft_batches());
  llama::Trainer cpu(cpu_model, cpu_data, train_config(total, clip, kLr));

  cuda::Context ctx;
  auto gpu_model = full_model(tied);
  llama::InMemoryDataSource gpu_data(sft_batches());
  gpu::GpuTrainer<float> g(ctx, gpu_model, gpu_data, train_config(total, clip, kLr),
                           /*loss_every=*/2);
  const auto want = lockstep(cpu, g, K, 1e-4);
  CHECK(want[0].grad_norm > clip);
  g.sync_to_host();
  CHECK(max_tensor_err(gpu_model, cpu_model) < 1e-3);
  // The weights moved (compared with the starting model) by more than the tolerance.
  CHECK(max_tensor_err(gpu_model, full_model(tied)) > 1e-2);
  if (!checkpoints) return;

  // GPU checkpoint -> CPU Trainer: its next step is the uninterrupted CPU run's and the GPU's.
  wbtest::TempDir dir("wb-gpu-full");
  g.save(dir / "gpu_ckpt");
  auto resumed_model = full_model(tied);
  llama::InMemoryDataSource resumed_data(sft_batches());
  llama::Trainer resumed(resumed_model, resumed_data, train_config(total, clip, kLr));
  resumed.load(dir / "gpu_ckpt");
  REQUIRE(resumed.steps_done() == K);
  const auto last_cpu = cpu.step();
  const auto last_resumed = resumed.step();
  const auto last_gpu = g.step();
  REQUIRE(last_gpu.loss_read);
  CHECK(last_resumed.loss == Approx(last_cpu.loss).epsilon(1e-4));
  CHECK(last_gpu.loss == Approx(last_cpu.loss).epsilon(1e-4));
  CHECK(g.finished());

  // CPU checkpoint -> GPU trainer: the same tensors back, the step count and data position too,
  // and its next step (of a longer run) is the CPU's.
  auto longer = train_config(total + 1, clip, kLr);
  llama::InMemoryDataSource cont_data(sft_batches());
  auto cont_model = full_model(tied);
  llama::Trainer cont(cont_model, cont_data, longer);
  cpu.save(dir / "cpu_ckpt");
  cont.load(dir / "cpu_ckpt");
  auto reload_model = full_model(tied);
  llama::InMemoryDataSource reload_data(sft_batches());
  gpu::GpuTrainer<float> g2(ctx, reload_model, reload_data, longer);
  g2.load(dir / "cpu_ckpt");
  CHECK(g2.steps_done() == total);
  CHECK(max_tensor_err(reload_model, cpu_model, 1e-30) == 0.0);
  const auto next_cpu = cont.step();
  const auto next_gpu = g2.step();
  REQUIRE(next_gpu.loss_read);
  CHECK(next_gpu.loss == Approx(next_cpu.loss).epsilon(1e-4));
  CHECK(next_gpu.grad_norm == Approx(next_cpu.grad_norm).epsilon(1e-4));
}

}  // namespace

TEST_CASE("GPU full training matches the CPU Trainer (untied LM head), checkpoints both ways",
          "[gpu]") {
  require_device();
  full_training_matches(/*tied=*/false, /*checkpoints=*/true);
}

TEST_CASE("GPU full training matches the CPU Trainer with tied embeddings", "[gpu]") {
  require_device();
  full_training_matches(/*tied=*/true, /*checkpoints=*/false);
}

TEST_CASE("GPU trainable tensors are the CPU Trainer's: names, sizes, decay, order", "[gpu]") {
  require_device();
  cuda::Context ctx;
  auto m = gputest::tiny_with_fresh_lora();
  m.head = llama::ScalarHead<float>::random(m.config.hidden_size, 3);
  m.trainable = {.full = true, .lora = true, .head = true};
  auto grads = llama::Gradients<float>::for_model(m);
  const auto want = llama::parameters(m, grads);
  gpu::GpuLlama<float> g(ctx, m);
  g.set_lora(*m.lora);
  g.set_head(*m.head);
  g.set_trainable(m);
  REQUIRE(g.n_params() == want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    INFO(want[i].name);
    CHECK(g.param_name(i) == want[i].name);
    CHECK(g.param_numel(i) == want[i].numel);
    CHECK(g.param_decays(i) == want[i].decay);
    // The masters start at the fp32 values, the moments at zero.
    using S = gpu::GpuLlama<float>::ParamState;
    CHECK(g.param_state_host(i, S::kWeight) == std::vector<float>(want[i].value, want[i].value + want[i].numel));
    CHECK(g.param_state_host(i, S::kAdamV) == std::vector<float>(size_t(want[i].numel), 0.0f));
  }
  // A part the device model lacks is refused.
  gpu::GpuLlama<float> bare(ctx, m);
  CHECK_THROWS_WITH(bare.set_trainable(m), Catch::Contains("no adapter"));
}

TEST_CASE("GPU full training in bf16 stays near the CPU loss", "[gpu]") {
  require_device();
  cuda::Context ctx;
  auto cpu_model = full_model(false);
  llama::InMemoryDataSource cpu_data(sft_batches());
  llama::Trainer cpu(cpu_model, cpu_data, train_config(4, 1.0, kLr));
  auto gpu_model = full_model(false);
  llama::InMemoryDataSource gpu_data(sft_batches());
  gpu::GpuTrainer<cuda::bf16> g(ctx, gpu_model, gpu_data, train_config(4, 1.0, kLr));
  for (int s = 0; s < 4; ++s) {
    const auto want = cpu.step();
    const auto got = g.step();
    REQUIRE(got.loss_read);
    CHECK(std::fabs(got.loss - want.loss) < 0.05 * want.loss);
  }
  // The fp32 masters come back finite and moved.
  g.sync_to_host();
  const double moved = max_tensor_err(gpu_model, full_model(false));
  CHECK(std::isfinite(moved));
  CHECK(moved > 1e-3);
}

TEST_CASE("GPU model: a batch the device cannot hold fails cleanly, then batches run as before",
          "[gpu]") {
  require_device();
  cuda::Context ctx;
  const auto m = full_model(false);
  const auto small = sft_batches()[0];  // 18 rows
  const auto larger = sft_batches()[2];  // 19 rows: the activations grow after the failure
  auto run = [&](gpu::GpuLlama<float>& g, const llama::TrainBatch& tb) {
    g.set_batch(tb.batch);
    g.forward();
    return g.logits_host();
  };
  gpu::GpuLlama<float> fresh(ctx, m);
  const auto want_small = run(fresh, small);
  const auto want_larger = run(fresh, larger);

  gpu::GpuLlama<float> g(ctx, m);
  CHECK(rel_err(run(g, small), want_small) < 1e-6);
  // 64M rows of 64 tokens: layer 0's activations alone need over 200 GB.
  const int64_t huge = int64_t(64) << 20;
  const std::vector<int32_t> tokens(size_t(huge), 1), lens(size_t(huge / 64), 64);
  CHECK_THROWS_AS(g.set_batch(tokens, lens), cuda::CudaError);
  // No half-set batch is left to run on.
  CHECK_THROWS_AS(g.forward(), std::logic_error);
  // The next batches allocate anew and compute what a model that never failed computes.
  CHECK(rel_err(run(g, small), want_small) < 1e-6);
  CHECK(rel_err(run(g, larger), want_larger) < 1e-6);
}

TEST_CASE("GPU trainer: a step whose micro-batch the device cannot hold is undone, as on the CPU",
          "[gpu]") {
  require_device();
  cuda::Context ctx;
  auto m = full_model(false);
  const auto start = full_model(false);
  // The step's first micro-batch runs (gradients accumulate), the second needs over 200 GB of
  // activations (1M sequences of 64 tokens): set_batch throws after the first was enqueued.
  std::vector<std::vector<int32_t>> seqs(size_t(1) << 20, std::vector<int32_t>(64, 3));
  llama::InMemoryDataSource data({sft_batches()[0], gputest::sft_micro_batch(seqs)});
  gpu::GpuTrainer<float> g(ctx, m, data, train_config(3, 0.0, kLr));
  const auto pos = data.position();
  CHECK_THROWS_AS(g.step(), cuda::CudaError);
  CHECK(g.steps_done() == 0);
  CHECK(data.position() == pos);  // the data stream stands where it stood
  auto& dev = g.device_model();
  for (size_t i = 0; i < dev.n_params(); ++i) {
    INFO(dev.param_name(i));
    for (float x : dev.param_state_host(i, gpu::GpuLlama<float>::ParamState::kGrad)) REQUIRE(x == 0.0f);
  }
  g.sync_to_host();
  CHECK(max_tensor_err(m, start) == 0.0);  // the optimizer never ran
}

TEST_CASE("GPU model: logits exist only after forward(), and the token loss refuses hidden-only passes",
          "[gpu]") {
  require_device();
  cuda::Context ctx;
  const auto m = full_model(false);
  gpu::GpuLlama<float> g(ctx, m);
  const auto tb = sft_batches()[0];
  cuda::DeviceBuffer<float> loss(1);
  g.set_batch(tb.batch);
  g.forward_hidden();  // scoring / reward training: no rows x vocab buffer
  CHECK(g.logits() == nullptr);
  CHECK_THROWS_AS(g.logits_host(), std::logic_error);
  CHECK_THROWS_AS(g.loss_backward_async(tb.targets, tb.mask, loss.data(), false, false), std::logic_error);
  g.forward();
  const auto logits = g.logits_host();
  CHECK(logits.size() == size_t(tb.batch.n_tokens() * m.config.vocab_size));
  CHECK(g.loss_backward_async(tb.targets, tb.mask, loss.data(), false, false) > 0);
  // A new batch invalidates them until the next forward().
  g.set_batch(tb.batch);
  CHECK_THROWS_AS(g.logits_host(), std::logic_error);
  g.forward();
  CHECK(g.logits_host() == logits);  // same batch, same bits
}
