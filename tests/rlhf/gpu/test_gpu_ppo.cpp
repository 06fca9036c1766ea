// The PPO trainer on the GPU (PpoTrainer with cuda = true: the engine's actor-critic trainer, one
// fp32 base on the device with the policy and the value model in its two trainable slots and the
// reference as its frozen adapter or the base alone) against the same trainer on the CPU engine,
// in both reference modes, on a tiny model written by the test. Sampling and scoring stay on the
// CPU here, so both trainers see the same responses and rewards and only the recomputation and the
// updates differ by device. Skipped without a CUDA device.
//
// Tolerance: both devices compute in fp32 and differ in summation order only (logits ~1e-6
// relative, tests/gpu/model/test_gpu_logprob.cpp). The KL, entropy, losses and clip fractions of an
// iteration agree to 1e-4 relative (1e-4 absolute near 0); after an iteration's AdamW steps the
// policy and value LoRA tensors and the head agree to 1e-3 of their largest entry — the bounds of
// the DPO and LoRA trainers' GPU tests, since AdamW's normalised update magnifies differences in
// small gradient entries. KL 0 and ratio 1 at the first iteration hold on the GPU exactly, as on
// the CPU (the same device forward for the policy and the reference, the same mini-batches).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "rlhf_tiny.h"
#include "wb/llama/device.h"
#include "wb/rlhf/ppo_step.h"
#include "wb_skip.h"
#include "wb_temp_dir.h"

using namespace rlhftest;
using namespace wb::rlhf;

namespace {

void require_cuda() {
  const std::string why = wb::llama::cuda_unavailable();
  if (!why.empty()) WB_SKIP(("no CUDA device: " + why).c_str());
}

bool close(double a, double b, double tol = 1e-4) { return std::abs(a - b) <= tol * std::max(1.0, std::abs(b)); }

PpoConfig ppo_config() {
  PpoConfig c;
  c.sampling.samples_per_prompt = 2;
  c.sampling.temperature = 1.2;
  c.sampling.max_new_tokens = 4;
  c.sampling.seed = 31;
  c.mini_batch = 3;  // two updates over six answers
  c.lr = 1e-2;
  c.value_lr = 5e-3;
  return c;
}

// max |a - b| over every tensor, relative to the largest |b| entry.
template <typename A>
double max_rel_diff(const A& a, const A& b) {
  std::vector<float> xa, xb;
  a.for_each([&](const std::string&, const Tensor<float>& t) { xa.insert(xa.end(), t.data.begin(), t.data.end()); });
  b.for_each([&](const std::string&, const Tensor<float>& t) { xb.insert(xb.end(), t.data.begin(), t.data.end()); });
  REQUIRE(xa.size() == xb.size());
  double diff = 0, scale = 0;
  for (size_t i = 0; i < xa.size(); ++i) {
    diff = std::max(diff, std::abs(double(xa[i]) - double(xb[i])));
    scale = std::max(scale, std::abs(double(xb[i])));
  }
  return diff / std::max(scale, 1e-30);
}

double head_rel_diff(const ScalarHead<float>& a, const ScalarHead<float>& b) {
  double diff = std::abs(double(a.bias.data[0]) - double(b.bias.data[0])), scale = std::abs(double(b.bias.data[0]));
  for (size_t i = 0; i < a.weight.data.size(); ++i) {
    diff = std::max(diff, std::abs(double(a.weight.data[i]) - double(b.weight.data[i])));
    scale = std::max(scale, std::abs(double(b.weight.data[i])));
  }
  return diff / std::max(scale, 1e-30);
}

void same_iteration(const PpoIterationStats& g, const PpoIterationStats& c) {
  CHECK(g.response_length == c.response_length);  // the same answers
  CHECK(g.reward_raw == c.reward_raw);            // scored on the CPU for both
  CHECK(close(g.kl, c.kl));
  CHECK(close(g.entropy, c.entropy));
  CHECK(close(g.policy_loss, c.policy_loss));
  CHECK(close(g.value_loss, c.value_loss));
  CHECK(close(g.clip_fraction, c.clip_fraction));
  CHECK(close(g.value_clip_fraction, c.value_clip_fraction));
  CHECK(close(g.approx_kl, c.approx_kl));
  CHECK(close(g.first_ratio, c.first_ratio));
}

void compare_devices(const LoraAdapter<float>* reference, const LoraAdapter<float>& policy0) {
  Model<float> base = tiny_base(301);
  const auto value_lora = moved_lora(base.config, 302, 0.1);
  const auto help = head_preferring(base, 5, 2.0);
  const auto safe = constant_head(base.config.hidden_size, 4.0f);
  const auto ps = prompts(3, 3, base.config.vocab_size, 303);
  const PpoModels models{reference, {&value_lora, &help}, {nullptr, &safe}};
  PpoTrainer cpu(base, models, policy0, ppo_config());
  PpoTrainer gpu(base, models, policy0, ppo_config(), /*cuda=*/true);
  REQUIRE(gpu.on_gpu());

  const PpoIterationStats c1 = cpu.iterate(ps);
  const PpoIterationStats g1 = gpu.iterate(ps);
  CHECK(g1.kl == 0.0);           // exactly, as on the CPU
  CHECK(g1.first_ratio == 1.0);
  CHECK(c1.kl == 0.0);
  same_iteration(g1, c1);
  CHECK(max_rel_diff(gpu.policy(), cpu.policy()) < 1e-3);
  CHECK(max_rel_diff(gpu.value_adapter(), cpu.value_adapter()) < 1e-3);
  CHECK(head_rel_diff(gpu.value_head(), cpu.value_head()) < 1e-3);
  CHECK(max_rel_diff(gpu.policy(), policy0) > 0);  // the policy moved

  // The GPU's checkpoint is the CPU's format: a CPU trainer resumes from it with its tensors.
  wbtest::TempDir dir;
  gpu.save(dir.path() / "ckpt");
  PpoTrainer moved(base, models, policy0, ppo_config());
  moved.load(dir.path() / "ckpt");
  CHECK(moved.iterations() == 1);
  CHECK(max_rel_diff(moved.policy(), gpu.policy()) == 0.0);
  CHECK(max_rel_diff(moved.value_adapter(), gpu.value_adapter()) == 0.0);
  CHECK(head_rel_diff(moved.value_head(), gpu.value_head()) == 0.0);
  // ...and a GPU trainer from the CPU's.
  cpu.save(dir.path() / "cpu");
  PpoTrainer back(base, models, policy0, ppo_config(), /*cuda=*/true);
  back.load(dir.path() / "cpu");
  CHECK(max_rel_diff(back.policy(), cpu.policy()) == 0.0);
  CHECK(max_rel_diff(back.value_adapter(), cpu.value_adapter()) == 0.0);
  CHECK(head_rel_diff(back.value_head(), cpu.value_head()) == 0.0);
  CHECK(!base.lora);
  CHECK(!base.head);
}

}  // namespace

TEST_CASE("a PPO iteration on cuda equals the CPU iteration with a fresh policy over the derived base", "[rlhf][ppo][gpu]") {
  require_cuda();
  const Model<float> shape = tiny_base(301);
  compare_devices(nullptr, LoraAdapter<float>::init(shape.config, small_lora(), 304));
}

TEST_CASE("a PPO iteration on cuda equals the CPU iteration with the SFT adapter as a frozen reference", "[rlhf][ppo][gpu]") {
  require_cuda();
  const Model<float> shape = tiny_base(301);
  const auto sft = moved_lora(shape.config, 305, 0.2);
  compare_devices(&sft, sft);
}
