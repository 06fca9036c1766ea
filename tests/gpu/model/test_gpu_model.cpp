// The GPU decoder of wb/llama/cuda/gpu_llama.h against the CPU engine (plugins/llama) on a tiny random
// model with GQA and LoRA on all seven linears: logits, the mean token loss and LoRA gradients
// of one training step in fp32 (and logits at bf16 tolerance), and greedy decode through the
// KV cache equal to the CPU's argmax continuation, with and without a LoRA adapter, and sampled
// decode equal to the CPU sampler's draws (temperature only). Skipped without a GPU.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <random>
#include <span>

#include "wb/llama/cuda/gpu_llama.h"
#include "wb/cuda/gemv.h"
#include "../gpu_test_util.h"
#include "tiny_model.h"
#include "wb/llama/backward.h"
#include "wb/llama/batch.h"
#include "wb/llama/forward.h"
#include "wb/llama/loss.h"
#include "wb/llama/model.h"
#include "wb/llama/sampler.h"

using namespace wb;
using namespace wb::cuda::test;
using gputest::cpu_continuation;
using gputest::tiny;

namespace {

llama::Model<float> tiny_model_with_lora() {
  auto m = gputest::tiny_with_fresh_lora();
  std::mt19937 rng(6);
  std::normal_distribution<float> nd(0.0f, 0.05f);
  // PEFT starts B at zero; a random B makes every gradient non-trivial.
  m.lora->for_each([&](const std::string& key, llama::Tensor<float>& t) {
    if (key.find("lora_B") != std::string::npos)
      for (auto& x : t.data) x = nd(rng);
  });
  m.trainable.lora = true;
  m.validate();
  return m;
}

const std::vector<std::vector<int32_t>> kSeqs = {{1, 5, 9, 33, 2, 71, 12},
                                                 {1, 7, 7, 40, 96, 3, 18, 55, 60, 11, 4}};

std::vector<int32_t> next_token_targets() {
  std::vector<int32_t> t;
  for (const auto& s : kSeqs) {
    t.insert(t.end(), s.begin() + 1, s.end());
    t.push_back(-1);
  }
  return t;
}

std::vector<int32_t> seq_lens() {
  std::vector<int32_t> l;
  for (const auto& s : kSeqs) l.push_back(int32_t(s.size()));
  return l;
}

}  // namespace

TEST_CASE("GPU training step matches the CPU engine: logits, loss, LoRA gradients", "[gpu]") {
  require_device();
  auto m = tiny_model_with_lora();
  const auto batch = llama::Batch::pack(kSeqs);
  const int64_t n = batch.n_tokens(), V = m.config.vocab_size;
  const auto targets = next_token_targets();

  llama::Workspace<float> ws;
  llama::ForwardOptions opts;
  opts.for_backward = true;
  llama::forward(m, batch, ws, opts);
  const auto cpu_logits = ws.logits;
  std::vector<float> dlogits(n * V);
  const float cpu_loss = llama::token_cross_entropy(ws.logits.data(), n, V, targets, {},
                                                    dlogits.data());
  auto grads = llama::Gradients<float>::for_model(m);
  grads.zero();
  llama::backward(m, ws, dlogits.data(), nullptr, grads);

  cuda::Context ctx;
  // Attention through the batched GEMMs (the default) and through the per-row kernels.
  for (const char* attention : {"gemm", "rows"}) {
    ::setenv("WB_ATTENTION", attention, 1);
    gpu::GpuLlama<float> g(ctx, m);
    g.set_lora(*m.lora);
    g.set_batch(batch.tokens, seq_lens());
    ::unsetenv("WB_ATTENTION");
    INFO("attention " << attention);
    g.forward();
    CHECK(rel_err(g.logits_host(), cpu_logits) < 1e-4);
    const float gpu_loss = g.loss_and_backward(targets, true);
    CHECK(gpu_loss == Approx(cpu_loss).epsilon(1e-5));
    const int64_t last = m.config.num_hidden_layers - 1;
    for (auto [layer, mod] : {std::pair<int64_t, llama::LoraModule>{0, llama::LoraModule::Q},
                              {0, llama::LoraModule::V}, {last, llama::LoraModule::Down},
                              {last, llama::LoraModule::Gate}}) {
      const auto* want = grads.lora->pair(layer, mod);
      REQUIRE(want != nullptr);
      INFO("layer " << layer << " module " << int(mod));
      CHECK(rel_err(g.lora_grad_host(layer, int(mod), false), want->A.data) < 1e-4);
      CHECK(rel_err(g.lora_grad_host(layer, int(mod), true), want->B.data) < 1e-4);
    }
  }

  gpu::GpuLlama<cuda::bf16> gb(ctx, m);  // bf16 storage: logits at bf16 tolerance
  gb.set_lora(*m.lora);
  gb.set_batch(batch.tokens, seq_lens());
  gb.forward();
  CHECK(rel_err(gb.logits_host(), cpu_logits) < 0.05);
}

TEST_CASE("GPU greedy decode through the KV cache equals the CPU's argmax continuation", "[gpu]") {
  require_device();
  auto m = llama::Model<float>::random(tiny(), 33);
  const std::vector<int32_t> prompt = {1, 17, 4, 88, 23};
  const int64_t k = 10;
  const std::vector<int32_t> cpu_new = cpu_continuation(m, prompt, k);
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  REQUIRE(g.generate({prompt}, k).at(0) == cpu_new);
  // A batch decodes each sequence independently: the same prompt in every row gives the same
  // tokens, through the GEMV kernels (2 rows) and through RMSNorm + cuBLAS (more rows than
  // kGemvMaxRows).
  for (size_t rows : {size_t(2), size_t(cuda::kGemvMaxRows + 1)}) {
    const auto many = g.generate(std::vector<std::vector<int32_t>>(rows, prompt), k);
    REQUIRE(many.size() == rows);
    for (const auto& r : many) REQUIRE(r == cpu_new);
  }
  // The first token only (no step replayed), and a one-token prompt.
  REQUIRE(g.generate({prompt}, 1).at(0) == std::vector<int32_t>{cpu_new[0]});
  REQUIRE(g.generate({{prompt[0]}}, 1).at(0) == cpu_continuation(m, {prompt[0]}, 1));
}

TEST_CASE("GPU greedy decode with a LoRA adapter equals the CPU's continuation with it", "[gpu]") {
  require_device();
  auto m = tiny_model_with_lora();  // random A and B on all seven linears
  const std::vector<int32_t> prompt = {1, 17, 4, 88, 23};
  const int64_t k = 8;
  std::vector<int32_t> cpu_new = cpu_continuation(m, prompt, k);
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  g.set_lora(*m.lora);
  REQUIRE(g.generate({prompt}, k, /*with_lora=*/true).at(0) == cpu_new);
  // More rows than the GEMV limit (the cuBLAS path everywhere).
  const auto many = g.generate(std::vector<std::vector<int32_t>>(cuda::kGemvMaxRows + 1, prompt), k, true);
  for (const auto& r : many) REQUIRE(r == cpu_new);
  // Only some modules targeted (o and down: the q/k/v and gate/up GEMVs stay fused).
  llama::LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 8.0;
  lc.target_modules = {llama::LoraModule::O, llama::LoraModule::Down};
  m.lora = llama::LoraAdapter<float>::init(m.config, lc, 8);
  m.lora->for_each([&](const std::string& key, llama::Tensor<float>& t) {
    if (key.find("lora_B") != std::string::npos)
      for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = 0.05f * std::sin(float(i));
  });
  cpu_new = cpu_continuation(m, prompt, k);
  gpu::GpuLlama<float> g2(ctx, m);
  g2.set_lora(*m.lora);
  REQUIRE(g2.generate({prompt}, k, true).at(0) == cpu_new);
}

TEST_CASE("GPU sampled decode draws the CPU sampler's tokens from the same seeds", "[gpu]") {
  require_device();
  auto m = tiny_model_with_lora();
  const std::vector<int32_t> prompt = {1, 17, 4, 88, 23};
  const int64_t k = 8;
  // Row 0 greedy, rows 1-3 sampled at temperatures (the host draws with sample_token itself); the
  // adapter on.
  const std::vector<llama::SamplingParams> params = {
      {0.0, 0, 1.0, 0}, {1.0, 0, 1.0, 11}, {0.7, 0, 1.0, 12}, {1.5, 0, 1.0, 13}};
  std::vector<std::vector<int32_t>> want;
  for (const auto& p : params) {
    llama::Rng rng(p.seed);
    want.push_back(cpu_continuation(m, prompt, k, [&](std::span<const float> l) {
      return llama::sample_token(l, p, rng);
    }));
  }
  std::vector<cuda::DeviceSampling> dev;
  std::vector<uint64_t> seeds;
  for (const auto& p : params) {
    dev.push_back({float(p.temperature), int32_t(p.top_k), float(p.top_p)});
    seeds.push_back(p.seed);
  }
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  g.set_lora(*m.lora);
  const auto got = g.generate(std::vector<std::vector<int32_t>>(params.size(), prompt), k, true, dev, seeds);
  REQUIRE(got.size() == params.size());
  for (size_t r = 0; r < params.size(); ++r) {
    INFO("row " << r);
    CHECK(got[r] == want[r]);
  }
  // Sampled rows differ from greedy somewhere (the draws matter), and a seed is a seed.
  CHECK((got[1] != got[0] || got[3] != got[0]));
  CHECK(g.generate(std::vector<std::vector<int32_t>>(params.size(), prompt), k, true, dev, seeds) == got);
  CHECK_THROWS_AS(g.generate({prompt}, k, true, dev, seeds), std::invalid_argument);
}
