// Reward models on the GPU: the ranking-loss kernel (wb/cuda/ranking.h) against loss.h, the
// scalar head's scores against the CPU forward (read at each sequence's last real row), and
// GpuTrainer with LossKind::kRanking against the CPU Trainer on the tiny GQA model — LoRA + head
// (margins, one padded sequence, reward centering, clipping), checkpoints both ways, the head
// alone on a frozen model, full + head — in fp32 to 1e-4 on losses and gradient norms and 1e-3
// on the trained tensors; bf16 within 5% of the CPU loss. Skipped without a GPU.
#include <string>
#include <vector>

#include "../gpu_test_util.h"
#include "tiny_model.h"
#include "train_cases.h"
#include "wb_temp_dir.h"
#include "wb/cuda/ranking.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/cuda/trainer.h"
#include "wb/llama/forward.h"
#include "wb/llama/loss.h"
#include "wb/llama/model.h"
#include "wb/llama/trainer.h"
#include "wb/llama/workspace.h"

using namespace wb;
using namespace wb::cuda::test;
using gputest::lockstep;
using gputest::max_tensor_err;
using gputest::ranking_batches;
using gputest::train_config;

namespace {

using gputest::ranking_config;
using gputest::reward_model;

double clip_for(llama::Trainable tr, int64_t total) {
  auto m = reward_model(tr);
  llama::InMemoryDataSource d(ranking_batches());
  llama::Trainer t(m, d, ranking_config(total, 0.0));
  return 0.5 * t.step().grad_norm;
}

}  // namespace

TEST_CASE("GPU ranking loss equals loss.h's ranking_loss + reward_centering", "[gpu]") {
  require_device();
  cuda::Context ctx;
  for (int64_t P : {1, 3, 7}) {
    for (bool with_margin : {false, true}) {
      for (double coef : {0.0, 0.3}) {
        INFO("P " << P << " margin " << with_margin << " centering " << coef);
        auto r = randn(size_t(2 * P), uint32_t(P * 10 + with_margin), 3.0f);
        r[0] = 40.0f;  // far in the tail: the stable softplus
        auto margin = randn(size_t(P), 77, 1.0f);
        std::vector<float> dc(static_cast<size_t>(P)), dr(static_cast<size_t>(P));
        float want = llama::ranking_loss(r.data(), r.data() + P, with_margin ? margin.data() : nullptr,
                                         P, dc.data(), dr.data());
        if (coef > 0) want += llama::reward_centering(r.data(), r.data() + P, P, coef, dc.data(), dr.data());
        std::vector<float> want_grad = dc;
        want_grad.insert(want_grad.end(), dr.begin(), dr.end());

        auto r_dev = upload_as<float>(r);
        auto m_dev = upload_as<float>(margin);
        cuda::DeviceBuffer<float> loss(1), grad(size_t(2 * P));
        poison(ctx, loss);
        poison(ctx, grad);
        cuda::ranking_loss(ctx, loss.data(), grad.data(), r_dev.data(),
                           with_margin ? m_dev.data() : nullptr, P, coef, /*accumulate=*/false);
        // The same double arithmetic; the device's exp/log1p may differ from libm in the last
        // double bit, which rounding to float almost always hides.
        CHECK(download_f(ctx, loss)[0] == Approx(want).epsilon(1e-6));
        CHECK(rel_err(download_f(ctx, grad), want_grad) < 1e-6);
        // accumulate adds to what is there; a null gradient is skipped.
        cuda::ranking_loss(ctx, loss.data(), nullptr, r_dev.data(),
                           with_margin ? m_dev.data() : nullptr, P, coef, /*accumulate=*/true);
        CHECK(download_f(ctx, loss)[0] == Approx(2.0 * want).epsilon(1e-6));
      }
    }
  }
}

TEST_CASE("GPU head scores equal the CPU forward's, read at the last real row", "[gpu]") {
  require_device();
  cuda::Context ctx;
  // A trained-looking adapter (B != 0) so the LoRA path shows in the scores.
  auto m = gputest::with_nonzero_b(reward_model({.lora = true, .head = true}));
  for (const auto& tb : ranking_batches()) {
    llama::Workspace<float> ws;
    llama::ForwardOptions opts;
    opts.logits = false;
    opts.head = true;
    llama::forward(m, tb.batch, ws, opts);
    const std::vector<float> want(ws.head_values.begin(), ws.head_values.begin() + tb.batch.n_seqs());

    gpu::GpuLlama<float> g(ctx, m);
    g.set_lora(*m.lora);
    g.set_head(*m.head);
    g.set_batch(tb.batch);
    g.forward_hidden();
    CHECK(rel_err(g.head_scores(tb.batch.last_index), want) < 1e-4);
    // A row outside its sequence is refused.
    std::vector<int32_t> bad = tb.batch.last_index;
    bad[0] = int32_t(tb.batch.seq_len(0));
    CHECK_THROWS_WITH(g.head_scores(bad), Catch::Contains("outside its rows"));
  }
}

TEST_CASE("GPU reward model (LoRA + head, ranking loss) matches the CPU Trainer, checkpoints both "
          "ways", "[gpu]") {
  require_device();
  const llama::Trainable tr{.lora = true, .head = true};
  const int64_t K = 7, total = K + 1;
  const double clip = clip_for(tr, total);
  REQUIRE(clip > 0);
  auto cpu_model = reward_model(tr);
  llama::InMemoryDataSource cpu_data(ranking_batches());
  llama::Trainer cpu(cpu_model, cpu_data, ranking_config(total, clip));
  cuda::Context ctx;
  auto gpu_model = reward_model(tr);
  llama::InMemoryDataSource gpu_data(ranking_batches());
  gpu::GpuTrainer<float> g(ctx, gpu_model, gpu_data, ranking_config(total, clip), /*loss_every=*/3);
  const auto want = lockstep(cpu, g, K, 1e-4);
  CHECK(want[0].grad_norm > clip);
  g.sync_to_host();
  CHECK(max_tensor_err(gpu_model, cpu_model) < 1e-3);
  CHECK(max_tensor_err(gpu_model, reward_model(tr)) > 1e-2);  // it trained

  wbtest::TempDir dir("wb-gpu-reward");
  g.save(dir / "gpu_ckpt");
  auto resumed_model = reward_model(tr);
  llama::InMemoryDataSource resumed_data(ranking_batches());
  llama::Trainer resumed(resumed_model, resumed_data, ranking_config(total, clip));
  resumed.load(dir / "gpu_ckpt");
  REQUIRE(resumed.steps_done() == K);
  const auto last_cpu = cpu.step();
  const auto last_resumed = resumed.step();
  const auto last_gpu = g.step();
  REQUIRE(last_gpu.loss_read);
  CHECK(last_resumed.loss == Approx(last_cpu.loss).epsilon(1e-4));
  CHECK(last_gpu.loss == Approx(last_cpu.loss).epsilon(1e-4));

  auto longer = ranking_config(total + 1, clip);
  auto cont_model = reward_model(tr);
  llama::InMemoryDataSource cont_data(ranking_batches());
  llama::Trainer cont(cont_model, cont_data, longer);
  cpu.save(dir / "cpu_ckpt");
  cont.load(dir / "cpu_ckpt");
  auto reload_model = reward_model(tr);
  llama::InMemoryDataSource reload_data(ranking_batches());
  gpu::GpuTrainer<float> g2(ctx, reload_model, reload_data, longer);
  g2.load(dir / "cpu_ckpt");
  CHECK(g2.steps_done() == total);
  CHECK(max_tensor_err(reload_model, cpu_model, 1e-30) == 0.0);
  const auto next_cpu = cont.step();
  const auto next_gpu = g2.step();
  CHECK(next_gpu.loss == Approx(next_cpu.loss).epsilon(1e-4));
  CHECK(next_gpu.grad_norm == Approx(next_cpu.grad_norm).epsilon(1e-4));

  // A checkpoint of another trainable set is refused with nothing changed.
  auto head_only = reward_model({.head = true});
  llama::InMemoryDataSource head_data(ranking_batches());
  gpu::GpuTrainer<float> g3(ctx, head_only, head_data, longer);
  CHECK_THROWS_AS(g3.load(dir / "cpu_ckpt"), llama::CheckpointError);
  CHECK(g3.steps_done() == 0);
}

TEST_CASE("GPU head-only and full + head reward training match the CPU Trainer", "[gpu]") {
  require_device();
  cuda::Context ctx;
  for (llama::Trainable tr : {llama::Trainable{.head = true}, llama::Trainable{.full = true, .head = true}}) {
    INFO("full " << tr.full);
    const int64_t total = 4;
    // A frozen adapter with B != 0: its share of the forward and of dx (full) must count.
    auto cpu_model = gputest::with_nonzero_b(reward_model(tr));
    llama::InMemoryDataSource cpu_data(ranking_batches());
    llama::Trainer cpu(cpu_model, cpu_data, ranking_config(total, 0.0));
    auto gpu_model = gputest::with_nonzero_b(reward_model(tr));
    llama::InMemoryDataSource gpu_data(ranking_batches());
    gpu::GpuTrainer<float> g(ctx, gpu_model, gpu_data, ranking_config(total, 0.0));
    lockstep(cpu, g, total, 1e-4);
    g.sync_to_host();
    CHECK(max_tensor_err(gpu_model, cpu_model) < 1e-3);
    // The frozen adapter was applied but not trained.
    CHECK(gpu_model.lora->layers[0][0].A.data == reward_model(tr).lora->layers[0][0].A.data);
  }
}

TEST_CASE("GPU reward training in bf16 stays near the CPU loss", "[gpu]") {
  require_device();
  cuda::Context ctx;
  const llama::Trainable tr{.lora = true, .head = true};
  auto cpu_model = reward_model(tr);
  llama::InMemoryDataSource cpu_data(ranking_batches());
  llama::Trainer cpu(cpu_model, cpu_data, ranking_config(4, 1.0));
  auto gpu_model = reward_model(tr);
  llama::InMemoryDataSource gpu_data(ranking_batches());
  gpu::GpuTrainer<cuda::bf16> g(ctx, gpu_model, gpu_data, ranking_config(4, 1.0));
  for (int s = 0; s < 4; ++s) {
    const auto want = cpu.step();
    const auto got = g.step();
    REQUIRE(got.loss_read);
    CHECK(std::fabs(got.loss - want.loss) < 0.05 * want.loss);
  }
}
