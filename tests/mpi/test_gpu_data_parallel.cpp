// The GPU trainer data-parallel over real ranks (`mpirun -np N`, tests/mpi/CMakeLists.txt), label
// gpu: N ranks that each take M micro-batches train the weights one GPU trains with the same
// N × M micro-batches as gradient accumulation, LoRA and full training, with both reductions:
//   [host]  MPI on host buffers (gradients staged through host memory after the backward);
//   [nccl]  NCCL, stream-ordered: each layer's gradients reduced during the backward pass.
// Every rank runs on device 0 with MPI; NCCL needs a GPU per rank, so [nccl] runs where the world
// is no larger than the device count (a world of one on a one-GPU machine still runs every
// reduction through the overlapped path). Skipped (77, on every rank alike) without a device.
#include <catch2/catch.hpp>

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "train_cases.h"
#include "wb/llama/collectives_mpi.h"
#ifdef WB_TEST_NCCL
#include "wb/llama/collectives_nccl.h"
#endif
#include "wb/llama/cuda/trainer.h"
#include "wb/llama/model.h"
#include "wb_skip.h"

using namespace wb;
namespace llama = wb::llama;

namespace {

llama::Collectives& mpi_world() {
  static std::unique_ptr<llama::Collectives> c = llama::mpi_collectives();
  return *c;
}

// `count` SFT-like micro-batches of 1–3 sequences with random tokens (fixed seed: every rank
// draws the same list).
std::vector<llama::TrainBatch> micro_batches(int count, int32_t vocab) {
  std::mt19937 rng(4242);
  std::uniform_int_distribution<int32_t> token(3, vocab - 1);
  std::uniform_int_distribution<int> seqs(1, 3), len(5, 11);
  std::vector<llama::TrainBatch> out;
  for (int i = 0; i < count; ++i) {
    std::vector<std::vector<int32_t>> s(size_t(seqs(rng)));
    for (auto& q : s) {
      q.push_back(1);
      for (int k = len(rng); k > 1; --k) q.push_back(token(rng));
    }
    out.push_back(gputest::sft_micro_batch(s));
  }
  return out;
}

std::vector<float> trainable_values(llama::Model<float>& m) {
  llama::Gradients<float> g = llama::Gradients<float>::for_model(m);
  std::vector<float> out;
  for (const auto& p : llama::parameters(m, g)) out.insert(out.end(), p.value, p.value + p.numel);
  return out;
}

double relative_gap(const std::vector<float>& a, const std::vector<float>& b) {
  double gap = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    gap = std::max(gap, std::fabs(double(a[i]) - b[i]));
    scale = std::max(scale, std::fabs(double(a[i])));
  }
  return gap / scale;
}

// One GPU with N × M micro-batches per step against this rank's share (M per step) reduced over
// `c`; both start from the same model. Steps read the loss every step.
void check_against_one_gpu(llama::Collectives& c, bool full) {
  const int n = c.world(), r = c.rank(), steps = 4, m_per_rank = 2;
  auto make = [&] { return full ? gputest::full_model(/*tied=*/false) : gputest::lora_model(); };
  const double lr = full ? gputest::kFullLr : 2e-2;
  llama::Model<float> probe = make();
  const std::vector<llama::TrainBatch> all = micro_batches(steps * n * m_per_rank, probe.config.vocab_size);

  cuda::Context ctx;
  llama::Model<float> one = make();
  llama::InMemoryDataSource one_data(all);
  llama::TrainerConfig one_cfg = gputest::train_config(steps, /*clip=*/1.0, lr);
  one_cfg.micro_batches = n * m_per_rank;
  gpu::GpuTrainer<float> one_t(ctx, one, one_data, one_cfg);
  std::vector<double> one_loss;
  while (!one_t.finished()) one_loss.push_back(one_t.step().loss);
  one_t.sync_to_host();

  std::vector<llama::TrainBatch> shard;
  for (int s = 0; s < steps; ++s)
    for (int k = 0; k < m_per_rank; ++k) shard.push_back(all[size_t((s * n + r) * m_per_rank + k)]);
  llama::Model<float> dp = make();
  llama::InMemoryDataSource dp_data(shard);
  llama::TrainerConfig dp_cfg = gputest::train_config(steps, /*clip=*/1.0, lr);
  dp_cfg.micro_batches = m_per_rank;
  gpu::GpuTrainer<float> dp_t(ctx, dp, dp_data, dp_cfg);
  dp_t.set_collectives(&c);
  std::vector<double> dp_loss;
  while (!dp_t.finished()) dp_loss.push_back(dp_t.step().loss);
  dp_t.sync_to_host();

  // The two runs differ only in the order fp32 gradients are summed (NCCL's or MPI's tree against
  // the accumulation's running sum): last-bit differences, which AdamW with eps 1e-3
  // (gputest::kCompareAdamEps) turns into at most lr * dg / eps per step. The CPU version of this
  // test measures 2e-6 (eps 1e-4); the bound is 1e-4 of the largest weight.
  const std::vector<float> w_one = trainable_values(one), w_dp = trainable_values(dp);
  REQUIRE(w_one.size() == w_dp.size());
  CHECK(relative_gap(w_one, w_dp) < 1e-4);
  REQUIRE(dp_loss.size() == one_loss.size());
  for (size_t i = 0; i < dp_loss.size(); ++i) CHECK(dp_loss[i] == Approx(one_loss[i]).epsilon(1e-4));

  // Every rank ends with rank 0's weights, bit for bit.
  std::vector<float> root = w_dp;
  mpi_world().broadcast(root.data(), root.size() * sizeof(float), 0);
  CHECK(root == w_dp);
}

void require_device_everywhere() {
  // Every rank sees the same machine, so every rank skips alike.
  cuda::test::require_device();
}

}  // namespace

TEST_CASE("GPU trainer over MPI (host reduction): N ranks train what one GPU trains, LoRA", "[gpu][host]") {
  require_device_everywhere();
  check_against_one_gpu(mpi_world(), /*full=*/false);
}

TEST_CASE("GPU trainer over MPI (host reduction): N ranks train what one GPU trains, full", "[gpu][host]") {
  require_device_everywhere();
  check_against_one_gpu(mpi_world(), /*full=*/true);
}

#ifdef WB_TEST_NCCL
namespace {
llama::Collectives& nccl_world() {
  static std::unique_ptr<llama::Collectives> c = [] {
    int devices = 0;
    if (cudaGetDeviceCount(&devices) != cudaSuccess) devices = 0;
    if (mpi_world().world() > devices)
      WB_SKIP(("NCCL needs a GPU per rank: " + std::to_string(mpi_world().world()) + " ranks, " +
               std::to_string(devices) + " devices")
                  .c_str());
    const int device = mpi_world().rank();
    cudaSetDevice(device);
    return llama::nccl_collectives(mpi_world(), device);
  }();
  return *c;
}
}  // namespace

TEST_CASE("GPU trainer over NCCL, reductions overlapped with the backward: LoRA", "[gpu][nccl]") {
  require_device_everywhere();
  llama::Collectives& c = nccl_world();
  CHECK(c.stream_ordered());
  check_against_one_gpu(c, /*full=*/false);
}

TEST_CASE("GPU trainer over NCCL, reductions overlapped with the backward: full", "[gpu][nccl]") {
  require_device_everywhere();
  check_against_one_gpu(nccl_world(), /*full=*/true);
}
#endif
