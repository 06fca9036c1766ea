// GpuDecoder (wb/llama/cuda/gpu_decoder.h), the serving decoder on the GPU, against the CPU
// llama::Decoder on the tiny random model (GQA) in fp32: logits of a prompt fed whole, in chunks
// and then decoded; a 24-token greedy continuation; a mixed batch (decode rows and prompt chunks
// of five sequences in non-contiguous slots, three adapters with different targets and ranks,
// one sequence without, one at scale 0.5; then three decode rows, the GEMV path) equal to each
// sequence run alone on the CPU; slot reuse;
// a full context refused with nothing changed; copy_sequence (a fork of a prefilled prompt); bad
// input refused; bf16 at bf16 tolerance; a pass
// that runs out of device memory refused with nothing changed, the passes after it right.
// Also the cache kernels' per-row slot argument the decoder relies on. Skipped without a GPU.
#include <algorithm>
#include <memory>
#include <random>
#include <span>
#include <stdexcept>
#include <vector>

#include "../gpu_test_util.h"
#include "wb/kernels/attention.h"
#include "wb/cuda/check.h"
#include "tiny_model.h"
#include "wb/llama/cuda/gpu_decoder.h"
#include "wb/llama/decode.h"

using namespace wb;
using namespace wb::cuda::test;
using gputest::greedy;
using gputest::tiny;

namespace {

using CpuSeq = llama::DecodeSequence<float>;
using GpuSeq = gpu::GpuDecodeSequence<float>;

llama::Model<float> base_model() { return llama::Model<float>::random(tiny(), 21); }

// A random adapter with a non-zero B (so it changes the logits) on `targets`.
llama::LoraAdapter<float> random_adapter(const llama::LlamaConfig& c, int64_t r,
                                         std::vector<llama::LoraModule> targets, uint32_t seed) {
  llama::LoraConfig lc;
  lc.r = r;
  lc.lora_alpha = 2.0 * double(r);
  lc.target_modules = std::move(targets);
  auto a = llama::LoraAdapter<float>::init(c, lc, seed);
  std::mt19937 rng(seed + 1);
  std::normal_distribution<float> nd(0.0f, 0.05f);
  a.for_each([&](const std::string& key, llama::Tensor<float>& t) {
    if (key.find("lora_B") != std::string::npos)
      for (auto& x : t.data) x = nd(rng);
  });
  return a;
}

std::vector<int32_t> prompt_of(int64_t len, uint32_t seed, int64_t vocab) {
  std::mt19937 rng(seed);
  std::vector<int32_t> p{1};
  while (int64_t(p.size()) < len) p.push_back(int32_t(rng() % uint32_t(vocab)));
  return p;
}

// One CPU forward of `toks` on `seq`: the logits of the last token.
std::vector<float> cpu_feed(llama::Decoder<float>& dec, CpuSeq& seq, const std::vector<int32_t>& toks) {
  CpuSeq* one[1] = {&seq};
  std::vector<float> logits;
  dec.forward(std::span<CpuSeq* const>(one, 1), {toks}, logits);
  return logits;
}

std::vector<float> gpu_feed(gpu::GpuDecoder<float>& dec, GpuSeq& seq, const std::vector<int32_t>& toks,
                            bool all = false) {
  GpuSeq* one[1] = {&seq};
  std::vector<float> logits;
  dec.forward(std::span<GpuSeq* const>(one, 1), {toks}, logits, all);
  return logits;
}

std::vector<float> row(const std::vector<float>& l, int64_t r, int64_t V) {
  return std::vector<float>(l.begin() + r * V, l.begin() + (r + 1) * V);
}

}  // namespace

TEST_CASE("attention_decode and kv_cache_append with per-row slots equal the slot-less calls", "[gpu]") {
  require_device();
  using namespace wb::cuda;
  using namespace wb::kernels;
  Context ctx;
  const int64_t slots = 3, max_len = 12, H = 4, KVH = 2, D = 16, kv = KVH * D, stride = max_len * kv;
  // Four rows: two of the sequence in slot 2 (a chunk: positions 5 and 6), one each in 0 and 1.
  const std::vector<int32_t> slot = {2, 0, 2, 1}, pos = {5, 2, 6, 9};
  const int64_t rows = int64_t(slot.size());
  std::vector<int32_t> len;
  for (int32_t p : pos) len.push_back(p + 1);
  const auto kc = randn(size_t(slots * stride), 61), vc = randn(size_t(slots * stride), 62);
  const auto kn = randn(size_t(rows * kv), 63), vn = randn(size_t(rows * kv), 64);
  const auto q = randn(size_t(rows * H * D), 65);
  auto gk = to_device(kc), gv = to_device(vc);
  auto gkn = to_device(kn), gvn = to_device(vn), gq = to_device(q);
  auto gslot = to_device(slot), gpos = to_device(pos), glen = to_device(len);
  kv_cache_append<float>(gk.data(), gv.data(), gkn.data(), gvn.data(), gpos.data(), rows, stride, kv,
                         gslot.data(), ctx);
  // The caches: exactly the appended rows changed, each in its own slot.
  auto kx = kc, vx = vc;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < kv; ++c) {
      kx[size_t(slot[size_t(r)] * stride + pos[size_t(r)] * kv + c)] = kn[size_t(r * kv + c)];
      vx[size_t(slot[size_t(r)] * stride + pos[size_t(r)] * kv + c)] = vn[size_t(r * kv + c)];
    }
  CHECK(download_f(ctx, gk) == kx);
  CHECK(download_f(ctx, gv) == vx);
  // All rows in one call with slots, against one slot-less call per row on that row's cache.
  DeviceBuffer<float> out(size_t(rows * H * D)), one(size_t(H * D));
  poison(ctx, out);
  attention_decode<float>(out.data(), gq.data(), gk.data(), gv.data(), glen.data(), rows, max_len, stride,
                          AttentionShape{rows, H, KVH, D}, gslot.data(), ctx);
  const auto got = download_f(ctx, out);
  for (int64_t r = 0; r < rows; ++r) {
    poison(ctx, one);
    attention_decode<float>(one.data(), gq.data() + r * H * D, gk.data() + slot[size_t(r)] * stride,
                            gv.data() + slot[size_t(r)] * stride, glen.data() + r, 1, max_len, stride,
                            AttentionShape{1, H, KVH, D}, nullptr, ctx);
    const auto want = download_f(ctx, one);
    INFO("row " << r);
    CHECK(std::vector<float>(got.begin() + r * H * D, got.begin() + (r + 1) * H * D) == want);
  }
}

TEST_CASE("GpuDecoder matches the CPU Decoder: prompt whole, in chunks, then decoded", "[gpu]") {
  require_device();
  const auto m = base_model();
  const int64_t V = m.config.vocab_size;
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  gpu::GpuDecoder<float> dec(g, 4, 64);
  llama::Decoder<float> cpu(m);
  const auto prompt = prompt_of(19, 3, V);

  // Whole, every position's logits.
  CpuSeq cs(m.config, 64);
  std::vector<float> want_all;
  {
    CpuSeq* one[1] = {&cs};
    cpu.forward(std::span<CpuSeq* const>(one, 1), {prompt}, want_all, /*all_positions=*/true);
  }
  GpuSeq whole(dec);
  CHECK(rel_err(gpu_feed(dec, whole, prompt, true), want_all) < 1e-4);
  CHECK(whole.length() == 19);

  // In chunks of 1, 5 and 13 tokens: the last logits after each chunk equal the whole pass's row.
  GpuSeq chunked(dec);
  const std::vector<std::vector<int32_t>> chunks = {{prompt.begin(), prompt.begin() + 1},
                                                    {prompt.begin() + 1, prompt.begin() + 6},
                                                    {prompt.begin() + 6, prompt.end()}};
  int64_t fed = 0;
  for (const auto& ch : chunks) {
    fed += int64_t(ch.size());
    CHECK(rel_err(gpu_feed(dec, chunked, ch), row(want_all, fed - 1, V)) < 1e-4);
  }
  // Then decoded one token at a time, both against the CPU's decode.
  for (int32_t tok : {7, 50, 96, 0, 13}) {
    const auto want = cpu_feed(cpu, cs, {tok});
    CHECK(rel_err(gpu_feed(dec, chunked, {tok}), want) < 1e-4);
    CHECK(rel_err(gpu_feed(dec, whole, {tok}), want) < 1e-4);
  }
  CHECK(chunked.length() == cs.length());
}

TEST_CASE("GpuDecoder greedy continuation equals the CPU's for 24 tokens", "[gpu]") {
  require_device();
  const auto m = base_model();
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  gpu::GpuDecoder<float> dec(g, 2);
  llama::Decoder<float> cpu(m);
  const auto prompt = prompt_of(9, 11, m.config.vocab_size);
  CpuSeq cs(m.config);
  GpuSeq gs(dec);
  auto cl = cpu_feed(cpu, cs, prompt);
  auto gl = gpu_feed(dec, gs, prompt);
  std::vector<int32_t> want, got;
  for (int i = 0; i < 24; ++i) {
    want.push_back(greedy(cl));
    got.push_back(greedy(gl));
    cl = cpu_feed(cpu, cs, {want.back()});
    gl = gpu_feed(dec, gs, {got.back()});
  }
  CHECK(got == want);
  // The same as the full forward's continuation (tiny_model.h), as a third opinion.
  CHECK(gputest::cpu_continuation(m, prompt, 24) == want);
}

TEST_CASE("GpuDecoder: mixed adapters in non-contiguous slots equal each sequence alone", "[gpu]") {
  require_device();
  const auto m = base_model();
  const auto& c = m.config;
  const int64_t V = c.vocab_size;
  using M = llama::LoraModule;
  const auto a1 = random_adapter(c, 4, llama::all_lora_modules(), 31);
  const auto a2 = random_adapter(c, 8, {M::Q, M::V}, 32);
  const auto a3 = random_adapter(c, 2, {M::O, M::Gate, M::Down}, 33);
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  const gpu::GpuAdapter<float> g1(a1, c), g2(a2, c), g3(a3, c);
  CHECK(g1.bytes() == a1.numel() * int64_t(sizeof(float)));
  CHECK(g2.A(0, int(M::K)) == nullptr);
  gpu::GpuDecoder<float> dec(g, 8, 80);

  // Occupy every slot, then free 1, 3, 4 and 6: the batch's sequences land in slots 6, 4, 3, 1
  // and 0 (kept), not in order.
  std::vector<std::unique_ptr<GpuSeq>> hold;
  for (int i = 0; i < 8; ++i) hold.push_back(std::make_unique<GpuSeq>(dec));
  CHECK(dec.free_slots() == 0);
  CHECK_THROWS_AS(GpuSeq(dec), std::length_error);
  for (int i : {1, 3, 4, 6}) hold[size_t(i)].reset();
  CHECK(dec.free_slots() == 4);
  struct Spec {
    const llama::LoraAdapter<float>* cpu;
    const gpu::GpuAdapter<float>* gpu;
    float scale;
    int64_t prompt_len;
  };
  const std::vector<Spec> specs = {{&a1, &g1, 1.0f, 7},   {&a2, &g2, 1.0f, 12}, {nullptr, nullptr, 1.0f, 5},
                                   {&a3, &g3, 1.0f, 9},   {&a1, &g1, 0.5f, 16}};
  const int64_t S = int64_t(specs.size());
  std::vector<std::unique_ptr<GpuSeq>> gs;
  for (int64_t s = 0; s < S - 1; ++s) gs.push_back(std::make_unique<GpuSeq>(dec));
  gs.push_back(std::move(hold[0]));  // slot 0, still empty
  std::vector<int32_t> slots;
  for (auto& q : gs) slots.push_back(q->slot());
  CHECK(slots == std::vector<int32_t>{6, 4, 3, 1, 0});

  // Reference: each sequence alone on the CPU (its own Decoder, its own adapter and scale).
  llama::Decoder<float> cpu(m);
  std::vector<std::unique_ptr<CpuSeq>> cs;
  std::vector<std::vector<int32_t>> prompts;
  for (int64_t s = 0; s < S; ++s) {
    cs.push_back(std::make_unique<CpuSeq>(c, 80));
    cs.back()->adapter = specs[size_t(s)].cpu;
    cs.back()->adapter_scale = specs[size_t(s)].scale;
    gs[size_t(s)]->adapter = specs[size_t(s)].gpu;
    gs[size_t(s)]->adapter_scale = specs[size_t(s)].scale;
    prompts.push_back(prompt_of(specs[size_t(s)].prompt_len, uint32_t(40 + s), V));
  }
  // Passes in the engine's style: every sequence feeds its next prompt chunk (at most 6 tokens)
  // or, once its prompt is in, its greedy token from the previous pass — decode rows and prompt
  // chunks of different sequences in one pass.
  std::vector<size_t> fed(size_t(S), 0);
  std::vector<int32_t> next(size_t(S), -1);
  std::vector<std::vector<int32_t>> got(static_cast<size_t>(S)), want(static_cast<size_t>(S));
  for (int pass = 0; pass < 10; ++pass) {
    std::vector<std::vector<int32_t>> feeds;
    for (int64_t s = 0; s < S; ++s) {
      const auto& p = prompts[size_t(s)];
      if (fed[size_t(s)] < p.size()) {
        const size_t end = std::min(p.size(), fed[size_t(s)] + 6);
        feeds.emplace_back(p.begin() + ptrdiff_t(fed[size_t(s)]), p.begin() + ptrdiff_t(end));
      } else {
        feeds.push_back({next[size_t(s)]});
      }
    }
    std::vector<GpuSeq*> ptrs;
    for (auto& q : gs) ptrs.push_back(q.get());
    std::vector<float> logits;
    dec.forward(std::span<GpuSeq* const>(ptrs.data(), ptrs.size()), feeds, logits);
    REQUIRE(int64_t(logits.size()) == S * V);
    for (int64_t s = 0; s < S; ++s) {
      const auto w = cpu_feed(cpu, *cs[size_t(s)], feeds[size_t(s)]);
      const auto gl = row(logits, s, V);
      CHECK(rel_err(gl, w) < 1e-4);
      fed[size_t(s)] = std::min(prompts[size_t(s)].size(), fed[size_t(s)] + feeds[size_t(s)].size());
      if (fed[size_t(s)] == prompts[size_t(s)].size()) {
        next[size_t(s)] = greedy(gl);
        got[size_t(s)].push_back(greedy(gl));
        want[size_t(s)].push_back(greedy(w));
      }
    }
  }
  // Three of them on: three decode rows (the GEMV path, with two adapter segments and a base one).
  for (int pass = 0; pass < 3; ++pass) {
    std::vector<GpuSeq*> ptrs;
    std::vector<std::vector<int32_t>> feeds;
    for (int64_t s : {0, 2, 4}) {
      ptrs.push_back(gs[size_t(s)].get());
      feeds.push_back({next[size_t(s)]});
    }
    std::vector<float> logits;
    dec.forward(std::span<GpuSeq* const>(ptrs.data(), ptrs.size()), feeds, logits);
    REQUIRE(int64_t(logits.size()) == 3 * V);
    int64_t i = 0;
    for (int64_t s : {0, 2, 4}) {
      const auto w = cpu_feed(cpu, *cs[size_t(s)], feeds[size_t(i)]);
      const auto gl = row(logits, i++, V);
      CHECK(rel_err(gl, w) < 1e-4);
      next[size_t(s)] = greedy(gl);
      got[size_t(s)].push_back(greedy(gl));
      want[size_t(s)].push_back(greedy(w));
    }
  }
  for (int64_t s = 0; s < S; ++s) {
    INFO("sequence " << s);
    CHECK(got[size_t(s)].size() >= 7);
    CHECK(got[size_t(s)] == want[size_t(s)]);
    CHECK(gs[size_t(s)]->length() == cs[size_t(s)]->length());
  }
  // The adapters matter: one prompt's logits with a1 at scale 1, at 0.5 and without differ.
  std::vector<std::vector<float>> variants;
  for (float sc : {1.0f, 0.5f, 0.0f}) {
    CpuSeq q(c, 80);
    q.adapter = sc > 0 ? &a1 : nullptr;
    q.adapter_scale = sc;
    variants.push_back(cpu_feed(cpu, q, prompts[0]));
  }
  CHECK(rel_err(variants[0], variants[1]) > 1e-3);
  CHECK(rel_err(variants[1], variants[2]) > 1e-3);
}

TEST_CASE("GpuDecoder: a released slot is reused clean, a full context changes nothing", "[gpu]") {
  require_device();
  const auto m = base_model();
  const int64_t V = m.config.vocab_size;
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  gpu::GpuDecoder<float> dec(g, 1, 32);
  llama::Decoder<float> cpu(m);
  const auto p1 = prompt_of(20, 5, V), p2 = prompt_of(6, 6, V);
  {
    GpuSeq first(dec);
    gpu_feed(dec, first, p1);
    CHECK(dec.free_slots() == 0);
  }
  CHECK(dec.free_slots() == 1);
  // The same slot, a new sequence: the old rows are not seen.
  GpuSeq again(dec, 10);
  CHECK(again.slot() == 0);
  CHECK(again.max_tokens() == 10);
  CpuSeq cs(m.config, 10);
  CHECK(rel_err(gpu_feed(dec, again, p2), cpu_feed(cpu, cs, p2)) < 1e-4);
  // 6 + 5 > 10: refused, nothing changed; then a token that fits gives the CPU's logits.
  CHECK_THROWS_AS(gpu_feed(dec, again, {1, 2, 3, 4, 5}), std::length_error);
  CHECK(again.length() == 6);
  CHECK(rel_err(gpu_feed(dec, again, {3, 4, 5, 6}), cpu_feed(cpu, cs, {3, 4, 5, 6})) < 1e-4);
  CHECK(again.length() == 10);
  CHECK_THROWS_AS(gpu_feed(dec, again, {1}), std::length_error);
  CHECK(again.length() == 10);
  // clear() keeps the slot and starts over.
  again.clear();
  CpuSeq fresh(m.config, 10);
  CHECK(rel_err(gpu_feed(dec, again, p2), cpu_feed(cpu, fresh, p2)) < 1e-4);
  CHECK_THROWS_AS(GpuSeq(dec, 40), std::invalid_argument);  // over max_context
}

TEST_CASE("GpuDecoder copy_sequence forks a prefilled prompt into another slot", "[gpu]") {
  require_device();
  const auto m = base_model();
  const int64_t V = m.config.vocab_size;
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  gpu::GpuDecoder<float> dec(g, 4, 32);
  llama::Decoder<float> cpu(m);
  const auto p = prompt_of(12, 9, V);
  GpuSeq a(dec), other(dec);
  gpu_feed(dec, other, prompt_of(7, 3, V));  // slot 1 in use: the copy goes from slot 0 to slot 2
  gpu_feed(dec, a, p);
  GpuSeq f(dec, 20);
  dec.copy_sequence(a, f);
  CHECK(f.length() == 12);
  // Both continue like the CPU after the prompt, each with its own next token.
  CpuSeq ca(m.config), cf(m.config);
  cpu_feed(cpu, ca, p);
  cpu_feed(cpu, cf, p);
  CHECK(rel_err(gpu_feed(dec, f, {5}), cpu_feed(cpu, cf, {5})) < 1e-4);
  CHECK(rel_err(gpu_feed(dec, a, {8}), cpu_feed(cpu, ca, {8})) < 1e-4);
  GpuSeq small(dec, 4);
  CHECK_THROWS_AS(dec.copy_sequence(a, small), std::invalid_argument);  // 13 tokens do not fit in 4
}

TEST_CASE("GpuDecoder refuses bad input before changing anything", "[gpu]") {
  require_device();
  const auto m = base_model();
  const int64_t V = m.config.vocab_size;
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  gpu::GpuDecoder<float> dec(g, 2, 32), other(g, 1, 32);
  GpuSeq a(dec), b(dec), foreign(other);
  std::vector<float> logits;
  auto run = [&](std::vector<GpuSeq*> seqs, std::vector<std::vector<int32_t>> toks) {
    dec.forward(std::span<GpuSeq* const>(seqs.data(), seqs.size()), toks, logits);
  };
  CHECK_THROWS_AS(run({}, {}), std::invalid_argument);
  CHECK_THROWS_AS(run({&a, &b}, {{1}}), std::invalid_argument);
  CHECK_THROWS_AS(run({&a, &b}, {{1}, {}}), std::invalid_argument);
  CHECK_THROWS_AS(run({&a, &b}, {{1}, {int32_t(V)}}), std::invalid_argument);
  CHECK_THROWS_AS(run({&a, &b}, {{1}, {-1}}), std::invalid_argument);
  CHECK_THROWS_AS(run({&a, &a}, {{1}, {2}}), std::invalid_argument);
  CHECK_THROWS_AS(run({&a, &foreign}, {{1}, {2}}), std::invalid_argument);
  llama::LlamaConfig wide = tiny();
  wide.num_hidden_layers = 3;
  llama::LoraConfig lc;
  lc.r = 2;
  const gpu::GpuAdapter<float> misfit(llama::LoraAdapter<float>::zeros(wide, lc), wide);
  b.adapter = &misfit;
  CHECK_THROWS_AS(run({&a, &b}, {{1}, {2}}), std::invalid_argument);
  CHECK(a.length() == 0);
  CHECK(b.length() == 0);
  b.adapter = nullptr;
  // And then it works: two sequences, logits [2, V].
  run({&a, &b}, {{1, 2, 3}, {4}});
  CHECK(int64_t(logits.size()) == 2 * V);
  CHECK(a.length() == 3);
  CHECK(b.length() == 1);
  // An adapter whose shapes do not fit the model is refused when it is built.
  llama::LoraAdapter<float> bad = llama::LoraAdapter<float>::zeros(wide, lc);
  CHECK_THROWS_AS(gpu::GpuAdapter<float>(bad, m.config), std::invalid_argument);
}

TEST_CASE("GpuDecoder in bf16: logits at bf16 tolerance, with an adapter", "[gpu]") {
  require_device();
  const auto m = base_model();
  const int64_t V = m.config.vocab_size;
  const auto a = random_adapter(m.config, 4, llama::all_lora_modules(), 51);
  cuda::Context ctx;
  gpu::GpuLlama<cuda::bf16> g(ctx, m);
  const gpu::GpuAdapter<cuda::bf16> ga(a, m.config);
  CHECK(ga.bytes() == a.numel() * 2);
  gpu::GpuDecoder<cuda::bf16> dec(g, 2, 64);
  llama::Decoder<float> cpu(m);
  gpu::GpuDecodeSequence<cuda::bf16> gs(dec), base(dec);
  gs.adapter = &ga;
  CpuSeq cs(m.config, 64), cb(m.config, 64);
  cs.adapter = &a;
  const auto prompt = prompt_of(14, 8, V);
  std::vector<std::vector<int32_t>> feeds = {prompt, {prompt.begin(), prompt.begin() + 3}};
  gpu::GpuDecodeSequence<cuda::bf16>* both[2] = {&gs, &base};
  std::vector<float> logits;
  dec.forward(std::span<gpu::GpuDecodeSequence<cuda::bf16>* const>(both, 2), feeds, logits);
  CHECK(rel_err(row(logits, 0, V), cpu_feed(cpu, cs, feeds[0])) < 0.05);
  CHECK(rel_err(row(logits, 1, V), cpu_feed(cpu, cb, feeds[1])) < 0.05);
  for (int32_t tok : {9, 17}) {
    dec.forward(std::span<gpu::GpuDecodeSequence<cuda::bf16>* const>(both, 2), {{tok}, {tok}}, logits);
    CHECK(rel_err(row(logits, 0, V), cpu_feed(cpu, cs, {tok})) < 0.05);
    CHECK(rel_err(row(logits, 1, V), cpu_feed(cpu, cb, {tok})) < 0.05);
  }
}

TEST_CASE("GpuDecoder: a pass the device has no memory for changes nothing, and the next passes are right", "[gpu]") {
  require_device();
  // A vocabulary of 2^20 and a context of 40000: the logits of one all-positions pass over the
  // whole context need 40000 * 2^20 * 4 bytes = 160 GB, more than the device has, while the model
  // (256 MB of embeddings, tied) and the caches fit. The failed pass must leave the work buffers'
  // capacities and the CUDA error state as they were, so the passes after it are right.
  size_t free_b = 0, total_b = 0;
  WB_CUDA_CHECK(cudaMemGetInfo(&free_b, &total_b));
  llama::LlamaConfig c = tiny();
  c.vocab_size = 1 << 20;
  c.max_position_embeddings = 40000;
  c.tie_word_embeddings = true;
  const size_t logits_bytes = size_t(c.max_position_embeddings) * size_t(c.vocab_size) * sizeof(float);
  if (logits_bytes <= total_b) WB_SKIP("the device holds the 160 GB logits this case needs to fail");
  const auto m = llama::Model<float>::random(c, 23);
  const int64_t V = c.vocab_size;
  cuda::Context ctx;
  gpu::GpuLlama<float> g(ctx, m);
  gpu::GpuDecoder<float> dec(g, 2, c.max_position_embeddings);
  llama::Decoder<float> cpu(m);
  GpuSeq a(dec), b(dec);
  CpuSeq ca(c, 64), cb(c, 64);
  // A small first pass: one row, one row of logits (the work buffers' first, small size).
  CHECK(rel_err(gpu_feed(dec, a, {1}), cpu_feed(cpu, ca, {1})) < 1e-4);
  // The whole context on b with every position's logits: refused for memory, nothing changed.
  CHECK_THROWS_AS(gpu_feed(dec, b, prompt_of(c.max_position_embeddings, 9, V), /*all=*/true), cuda::CudaError);
  CHECK(b.length() == 0);
  CHECK(a.length() == 1);
  // Then eight rows with all their logits on a, and a fresh prompt on b, as on the CPU.
  const auto p8 = prompt_of(8, 10, V);
  std::vector<float> want;
  {
    CpuSeq* one[1] = {&ca};
    cpu.forward(std::span<CpuSeq* const>(one, 1), {p8}, want, /*all_positions=*/true);
  }
  CHECK(rel_err(gpu_feed(dec, a, p8, /*all=*/true), want) < 1e-4);
  CHECK(a.length() == 9);
  const auto p3 = prompt_of(3, 11, V);
  CHECK(rel_err(gpu_feed(dec, b, p3), cpu_feed(cpu, cb, p3)) < 1e-4);
  CHECK(b.length() == 3);
}
