// GpuLlama's pieces for DPO and PPO (wb/llama/cuda/gpu_llama.h) against the CPU engine on the tiny
// GQA model with LoRA on all seven linears: per-row target log-probs at a temperature under the
// trained adapter, a frozen second adapter and the base alone (the CPU forward with a per-sequence
// adapter list), and the LoRA gradient of sum_i coef_i logp_i with coefficients of both signs (the
// CPU backward from the CPU op's dlogits). Switching adapters leaves the trained adapter's
// gradients and moments alone. Skipped without a GPU.
//
// Tolerance: fp32 on both devices, differing in summation order only (logits agree to ~1e-6
// relative, test_gpu_model.cpp): log-probs to 1e-5 relative (normwise), gradients to 1e-4, as the
// token-loss gradients of test_gpu_model.cpp.
#include <random>

#include "../gpu_test_util.h"
#include "tiny_model.h"
#include "wb/kernels/xent.h"
#include "wb/llama/backward.h"
#include "wb/llama/batch.h"
#include "wb/llama/cuda/gpu_llama.h"
#include "wb/llama/forward.h"
#include "wb/llama/model.h"

using namespace wb;
using namespace wb::cuda::test;

namespace {

using Use = gpu::GpuLlama<float>::AdapterUse;

// A LoRA adapter of rank r with random B (seeded), so it changes every logit.
llama::LoraAdapter<float> moved(const llama::LlamaConfig& c, int64_t r, uint64_t seed) {
  llama::LoraConfig lc;
  lc.r = r;
  lc.lora_alpha = 2.0 * double(r);
  lc.target_modules = llama::all_lora_modules();
  auto a = llama::LoraAdapter<float>::init(c, lc, seed);
  std::mt19937 rng(uint32_t(seed + 1));
  std::normal_distribution<float> nd(0.0f, 0.05f);
  a.for_each([&](const std::string& key, llama::Tensor<float>& t) {
    if (key.find("lora_B") != std::string::npos)
      for (auto& x : t.data) x = nd(rng);
  });
  return a;
}

const std::vector<std::vector<int32_t>> kSeqs = {{1, 5, 9, 33, 2, 71, 12}, {1, 7, 7, 40, 96, 3, 18, 55, 60}};

// Next-token targets on the last three rows that have one (answer rows), -1 elsewhere.
std::vector<int32_t> answer_targets() {
  std::vector<int32_t> t;
  for (const auto& s : kSeqs) {
    const int64_t L = int64_t(s.size());
    for (int64_t i = 0; i < L; ++i) t.push_back(i >= L - 4 && i < L - 1 ? s[size_t(i + 1)] : -1);
  }
  return t;
}

// CPU: per-row log-probs of logits / temperature under `adapters`.
std::vector<float> cpu_logprobs(const llama::Model<float>& m, const llama::Batch& b,
                                const std::vector<const llama::LoraAdapter<float>*>& adapters,
                                const std::vector<int32_t>& targets, float inv_temp) {
  llama::Workspace<float> ws;
  llama::ForwardOptions o;
  llama::forward(m, b, ws, o, adapters);
  std::vector<float> lp(targets.size());
  kernels::token_logprob_forward<float>(lp.data(), ws.logits.data(), targets.data(), b.n_tokens(),
                                        m.config.vocab_size, inv_temp);
  return lp;
}

}  // namespace

TEST_CASE("GPU token log-probs under the trained, a frozen and no adapter, and their signed backward, match the CPU", "[gpu]") {
  require_device();
  auto m = llama::Model<float>::random(gputest::tiny(), 21);
  m.lora = moved(m.config, 4, 5);
  m.trainable = {.lora = true};
  m.validate();
  const auto frozen = moved(m.config, 6, 9);  // another rank: the scratch must hold it
  const auto batch = llama::Batch::pack(kSeqs);
  const int64_t n = batch.n_tokens(), V = m.config.vocab_size;
  const auto targets = answer_targets();
  const float inv_temp = 1.0f / 1.2f;
  std::vector<float> coef(size_t(n), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    if (targets[size_t(i)] >= 0) coef[size_t(i)] = i < int64_t(kSeqs[0].size()) ? 0.8f : -1.3f;

  const std::vector<const llama::LoraAdapter<float>*> none(2, nullptr), fz(2, &frozen), own(2, &*m.lora);
  const auto want_pol = cpu_logprobs(m, batch, own, targets, inv_temp);
  const auto want_fz = cpu_logprobs(m, batch, fz, targets, inv_temp);
  const auto want_none = cpu_logprobs(m, batch, none, targets, inv_temp);
  // The CPU gradient of sum coef_i logp_i under the trained adapter.
  llama::Workspace<float> ws;
  llama::ForwardOptions opts;
  opts.for_backward = true;
  llama::forward(m, batch, ws, opts);
  std::vector<float> dlogits(size_t(n * V));
  kernels::token_logprob_backward<float>(dlogits.data(), ws.logits.data(), targets.data(), coef.data(), n, V,
                                         inv_temp);
  auto grads = llama::Gradients<float>::for_model(m);
  grads.zero();
  llama::backward(m, ws, dlogits.data(), nullptr, grads);

  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  g.set_lora(*m.lora);
  g.set_frozen_lora(frozen);
  g.set_trainable(m);
  g.set_batch(batch);
  // The reference passes first, as DPO runs them: nothing of the trained adapter changes.
  g.use_adapter(Use::kFrozen);
  g.forward();
  CHECK(rel_err(g.token_logprobs(targets, inv_temp), want_fz) < 1e-5);
  CHECK_THROWS_AS(g.token_logprob_backward(targets, coef, inv_temp), std::logic_error);  // not the trained one
  g.use_adapter(Use::kNone);
  g.forward();
  CHECK(rel_err(g.token_logprobs(targets, inv_temp), want_none) < 1e-5);
  g.use_adapter(Use::kTrained);
  g.forward();
  const auto got = g.token_logprobs(targets, inv_temp);
  CHECK(rel_err(got, want_pol) < 1e-5);
  for (int64_t i = 0; i < n; ++i)
    if (targets[size_t(i)] < 0) CHECK(got[size_t(i)] == 0.0f);
  CHECK_THROWS_AS(g.token_logprob_backward(targets, {1.0f}, inv_temp), std::invalid_argument);
  g.token_logprob_backward(targets, coef, inv_temp);
  CHECK_THROWS_AS(g.token_logprob_backward(targets, coef, inv_temp), std::logic_error);  // logits consumed
  for (int64_t layer = 0; layer < m.config.num_hidden_layers; ++layer)
    for (int mod = 0; mod < 7; ++mod) {
      const auto* want = grads.lora->pair(layer, llama::LoraModule(mod));
      REQUIRE(want != nullptr);
      INFO("layer " << layer << " module " << mod);
      CHECK(rel_err(g.lora_grad_host(layer, mod, false), want->A.data) < 1e-4);
      CHECK(rel_err(g.lora_grad_host(layer, mod, true), want->B.data) < 1e-4);
    }
  // The trained adapter's weights are the ones it was given: the frozen passes never touched them.
  llama::Model<float> back = m;
  g.trained_to_host(back);
  CHECK(rel_err(back.lora->pair(0, llama::LoraModule::Q)->B.data, m.lora->pair(0, llama::LoraModule::Q)->B.data) == 0.0);
}

TEST_CASE("GPU use_adapter refuses a frozen adapter that was never set", "[gpu]") {
  require_device();
  auto m = gputest::tiny_with_fresh_lora();
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  g.set_lora(*m.lora);
  CHECK_THROWS_AS(g.use_adapter(Use::kFrozen), std::logic_error);
  CHECK(g.adapter_in_use() == Use::kTrained);
}

TEST_CASE("GPU value head read at every response row, and its backward into LoRA and head, match the CPU", "[gpu]") {
  require_device();
  auto m = llama::Model<float>::random(gputest::tiny(), 23);
  m.lora = moved(m.config, 4, 7);
  m.head = llama::ScalarHead<float>::random(m.config.hidden_size, 8, 0.5);
  m.trainable = {.lora = true, .head = true};
  m.validate();
  const auto batch = llama::Batch::pack(kSeqs);
  const int64_t D = m.config.hidden_size;
  // Three rows of each sequence (the rows before its last response tokens), in batch order.
  std::vector<int32_t> rows;
  for (int64_t s = 0; s < batch.n_seqs(); ++s)
    for (int64_t i = batch.cu_seqlens[s + 1] - 4; i < batch.cu_seqlens[s + 1] - 1; ++i) rows.push_back(int32_t(i));
  std::vector<float> dv;
  for (size_t j = 0; j < rows.size(); ++j) dv.push_back(j % 2 ? -0.4f * float(j) : 0.3f + 0.1f * float(j));

  llama::Workspace<float> ws;
  llama::ForwardOptions opts;
  opts.logits = false;
  opts.for_backward = true;
  llama::forward(m, batch, ws, opts);
  auto grads = llama::Gradients<float>::for_model(m);
  grads.zero();
  std::vector<float> want_v, dhidden(size_t(batch.n_tokens() * D), 0.0f);
  for (size_t j = 0; j < rows.size(); ++j) {
    const float* h = ws.hidden.data() + int64_t(rows[j]) * D;
    double v = m.head->bias.data[0];
    for (int64_t d = 0; d < D; ++d) {
      v += double(h[d]) * double(m.head->weight.data[size_t(d)]);
      grads.head->weight.data[size_t(d)] += dv[j] * h[d];
      dhidden[size_t(int64_t(rows[j]) * D + d)] += dv[j] * m.head->weight.data[size_t(d)];
    }
    grads.head->bias.data[0] += dv[j];
    want_v.push_back(float(v));
  }
  llama::backward_hidden(m, ws, nullptr, nullptr, dhidden.data(), grads);

  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  g.set_lora(*m.lora);
  g.set_head(*m.head);
  g.set_trainable(m);
  g.set_batch(batch);
  g.forward_hidden();
  CHECK(rel_err(g.head_values(rows), want_v) < 1e-5);
  CHECK_THROWS_AS(g.head_values({rows[0], rows[0]}), std::invalid_argument);
  CHECK_THROWS_AS(g.head_values({int32_t(batch.n_tokens())}), std::invalid_argument);
  CHECK_THROWS_AS(g.head_values_backward(rows, {1.0f}), std::invalid_argument);
  g.head_values_backward(rows, dv);
  for (int64_t layer = 0; layer < m.config.num_hidden_layers; ++layer)
    for (int mod = 0; mod < 7; ++mod) {
      const auto* want = grads.lora->pair(layer, llama::LoraModule(mod));
      REQUIRE(want != nullptr);
      INFO("layer " << layer << " module " << mod);
      CHECK(rel_err(g.lora_grad_host(layer, mod, false), want->A.data) < 1e-4);
      CHECK(rel_err(g.lora_grad_host(layer, mod, true), want->B.data) < 1e-4);
    }
  for (size_t i = 0; i < g.n_params(); ++i) {
    if (g.param_name(i) == "score.weight")
      CHECK(rel_err(g.param_state_host(i, gpu::GpuLlama<float>::ParamState::kGrad), grads.head->weight.data) < 1e-4);
    if (g.param_name(i) == "score.bias")
      CHECK(rel_err(g.param_state_host(i, gpu::GpuLlama<float>::ParamState::kGrad), grads.head->bias.data) < 1e-4);
  }
}

// PPO's two trained models over one device base: the policy in slot 0, the value LoRA (another
// rank) + head in slot 1. Each slot's forward equals the CPU under its own adapter, the policy
// slot's per-row entropy equals the CPU op's on the CPU logits, and a backward and AdamW step in
// one slot leave the other slot's weights, gradients and moments as they were.
TEST_CASE("GPU two trainable slots over one base: each forward, backward and step stays in its slot", "[gpu]") {
  require_device();
  using S = gpu::GpuLlama<float>::ParamState;
  auto pol = llama::Model<float>::random(gputest::tiny(), 25);
  pol.lora = moved(pol.config, 4, 11);
  pol.trainable = {.lora = true};
  llama::Model<float> val;  // only the adapter, the head and the trainable set: what set_trainable reads
  val.config = pol.config;
  val.lora = moved(pol.config, 6, 13);
  val.head = llama::ScalarHead<float>::random(pol.config.hidden_size, 14, 0.5);
  val.trainable = {.lora = true, .head = true};
  const auto batch = llama::Batch::pack(kSeqs);
  const int64_t n = batch.n_tokens(), V = pol.config.vocab_size;
  const auto targets = answer_targets();
  const float inv_temp = 1.0f / 1.2f;

  llama::Workspace<float> ws;
  llama::ForwardOptions o;
  llama::forward(pol, batch, ws, o, std::vector<const llama::LoraAdapter<float>*>(2, &*pol.lora));
  std::vector<float> want_lp(static_cast<size_t>(n)), want_ent(static_cast<size_t>(n));
  kernels::token_logprob_forward<float>(want_lp.data(), ws.logits.data(), targets.data(), n, V, inv_temp);
  kernels::token_entropy_forward<float>(want_ent.data(), ws.logits.data(), targets.data(), n, V, inv_temp);
  llama::forward(pol, batch, ws, o, std::vector<const llama::LoraAdapter<float>*>(2, &*val.lora));
  std::vector<int32_t> rows;
  for (int64_t s = 0; s < batch.n_seqs(); ++s)
    for (int64_t i = batch.cu_seqlens[s + 1] - 4; i < batch.cu_seqlens[s + 1] - 1; ++i) rows.push_back(int32_t(i));
  std::vector<float> want_v;
  for (int32_t r : rows) {
    double v = val.head->bias.data[0];
    for (int64_t d = 0; d < pol.config.hidden_size; ++d)
      v += double(ws.hidden[size_t(r * pol.config.hidden_size + d)]) * double(val.head->weight.data[size_t(d)]);
    want_v.push_back(float(v));
  }

  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, pol);
  g.set_lora(*pol.lora);
  g.set_trainable(pol);
  g.select_slot(1);
  g.set_lora(*val.lora);
  g.set_head(*val.head);
  g.set_trainable(val);
  CHECK_THROWS_AS(g.select_slot(2), std::out_of_range);
  CHECK(g.slot() == 1);
  const size_t value_params = g.n_params();
  CHECK(value_params == size_t(2 * 7 * pol.config.num_hidden_layers + 2));  // A, B per module + head

  g.select_slot(0);
  CHECK(!g.has_head());
  g.set_batch(batch);
  g.forward();
  CHECK(rel_err(g.token_logprobs(targets, inv_temp), want_lp) < 1e-5);
  CHECK(rel_err(g.token_entropies(targets, inv_temp), want_ent) < 1e-5);
  std::vector<float> coef(size_t(n), 0.0f);
  for (int64_t i = 0; i < n; ++i)
    if (targets[size_t(i)] >= 0) coef[size_t(i)] = 0.5f;
  g.select_slot(1);  // a forward under slot 0 cannot be backpropagated from slot 1...
  CHECK_THROWS_AS(g.token_logprob_backward(targets, coef, inv_temp), std::logic_error);
  g.select_slot(0);  // ...but from slot 0 again, nothing else having run
  g.token_logprob_backward(targets, coef, inv_temp);
  CHECK(g.grad_sq_norm() > 0);
  const auto policy_grad = g.param_state_host(0, S::kGrad);
  const auto policy_w = g.param_state_host(0, S::kWeight);

  g.select_slot(1);
  CHECK(g.grad_sq_norm() == 0.0);  // the policy's backward went into slot 0 only
  g.forward_hidden();
  CHECK(rel_err(g.head_values(rows), want_v) < 1e-5);
  g.head_values_backward(rows, std::vector<float>(rows.size(), 1.0f));
  const auto value_w = g.param_state_host(0, S::kWeight);
  g.adamw_step(1e-2f, 1);
  CHECK(rel_err(g.param_state_host(0, S::kWeight), value_w) > 0);  // the value model moved

  g.select_slot(0);  // the value step left the policy alone: weights, gradients, zero moments
  CHECK(g.param_state_host(0, S::kWeight) == policy_w);
  CHECK(g.param_state_host(0, S::kGrad) == policy_grad);
  for (float x : g.param_state_host(0, S::kAdamM)) REQUIRE(x == 0.0f);
  llama::Model<float> back = pol;
  g.trained_to_host(back);
  CHECK(rel_err(back.lora->pair(1, llama::LoraModule::V)->B.data, pol.lora->pair(1, llama::LoraModule::V)->B.data) == 0.0);
}
