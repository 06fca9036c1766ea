// Forward pass behaviour: packing keeps sequences independent, multi-adapter batches equal
// per-sequence runs, the per-layer decode pieces with a KV cache reproduce the full forward,
// bad batches are refused with a clear message, and HF/PEFT/head files round-trip.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "test_grad_common.h"
#include "wb/kernels/attention.h"
#include "wb/llama/model_io.h"
#include "wb/llama/peft_adapter.h"
#include "wb/llama/safetensors.h"
#include "wb_temp_dir.h"

using namespace wbtest;
namespace fs = std::filesystem;

namespace {

Model<double> model(uint64_t seed) {
  Model<double> m;
  m.config = tiny_config();
  m.weights = Weights<double>::random(m.config, seed, 0.2);
  return m;
}

LoraAdapter<double> adapter(const LlamaConfig& c, uint64_t seed, int64_t r,
                            std::vector<LoraModule> targets = all_lora_modules()) {
  LoraConfig lc;
  lc.r = r;
  lc.lora_alpha = 2.0 * r;
  lc.target_modules = std::move(targets);
  auto a = LoraAdapter<double>::init(c, lc, seed);
  randomize_b(a, seed + 100, 0.3);
  return a;
}

std::vector<double> logits_of(const Model<double>& m, const Batch& b,
                              const std::vector<const LoraAdapter<double>*>& ad = {}) {
  Workspace<double> ws;
  forward(m, b, ws, ForwardOptions{}, ad);
  return std::vector<double>(ws.logits.begin(), ws.logits.begin() + b.n_tokens() * m.config.vocab_size);
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("packed sequences give the same logits as each sequence alone", "[forward]") {
  const Model<double> m = model(1);
  const auto s1 = tokens_for(1, 6, 37), s2 = tokens_for(2, 3, 37), s3 = tokens_for(3, 9, 37);
  const auto packed = logits_of(m, Batch::pack({s1, s2, s3}));
  size_t off = 0;
  for (const auto& s : {s1, s2, s3}) {
    const auto alone = logits_of(m, Batch::pack({s}));
    for (size_t i = 0; i < alone.size(); ++i) REQUIRE(packed[off + i] == Approx(alone[i]).epsilon(1e-12));
    off += alone.size();
  }
}

TEST_CASE("a fresh PEFT-initialized adapter (B = 0) leaves the logits unchanged", "[forward]") {
  Model<double> m = model(2);
  const Batch b = Batch::pack({tokens_for(4, 7, 37)});
  const auto base = logits_of(m, b);
  LoraConfig lc;
  lc.r = 4;
  lc.target_modules = all_lora_modules();
  m.lora = LoraAdapter<double>::init(m.config, lc, 9);
  CHECK(logits_of(m, b) == base);
  randomize_b(*m.lora, 1, 0.3);
  CHECK(logits_of(m, b) != base);
}

TEST_CASE("a batch mixing adapters equals each sequence run with its own adapter", "[forward]") {
  Model<double> m = model(3);
  const auto a1 = adapter(m.config, 10, 2);
  const auto a2 = adapter(m.config, 20, 5, {LoraModule::Q, LoraModule::V, LoraModule::Down});
  const std::vector<std::vector<int32_t>> seqs{tokens_for(1, 5, 37), tokens_for(2, 4, 37),
                                                tokens_for(3, 6, 37), tokens_for(4, 3, 37)};
  const std::vector<const LoraAdapter<double>*> choice{&a1, nullptr, &a2, &a1};
  const Batch b = Batch::pack(seqs);
  const auto segs = adapter_segments(m, b, choice);
  CHECK(segs.size() == 4);
  const auto mixed = logits_of(m, b, choice);
  size_t off = 0;
  for (size_t s = 0; s < seqs.size(); ++s) {
    Model<double> single = m;
    if (choice[s]) single.lora = *choice[s];
    const auto alone = logits_of(single, Batch::pack({seqs[s]}));
    for (size_t i = 0; i < alone.size(); ++i) REQUIRE(mixed[off + i] == Approx(alone[i]).epsilon(1e-12));
    off += alone.size();
  }
  // adjacent sequences with the same adapter share one segment
  CHECK(adapter_segments(m, b, {&a1, &a1, nullptr, nullptr}).size() == 2);
  CHECK_THROWS_AS(logits_of(m, b, {&a1}), std::invalid_argument);
}

TEST_CASE("KV-cache decoding with the per-layer pieces reproduces the full forward", "[forward]") {
  Model<double> m = model(4);
  m.lora = adapter(m.config, 30, 3);
  const LlamaConfig& c = m.config;
  const int64_t D = c.hidden_size, H = c.num_attention_heads, hd = c.head_dim(), KVD = c.kv_dim();
  const auto toks = tokens_for(8, 10, 37);
  const auto full = logits_of(m, Batch::pack({toks}));

  // Prefill 4 tokens, then decode one at a time; one cache per layer.
  const int64_t L = c.num_hidden_layers, T = toks.size();
  std::vector<std::vector<double>> kc(L), vc(L);
  LayerActs<double> acts;
  const std::vector<AdapterSegment<double>> segs{{0, 0, &*m.lora}};
  int64_t done = 0;
  for (int64_t step : {4, 1, 1, 1, 1, 1, 1}) {
    std::vector<AdapterSegment<double>> s = segs;
    s[0].row_end = step;
    std::vector<int32_t> pos(step);
    for (int64_t i = 0; i < step; ++i) pos[i] = done + i;
    std::vector<double> x(step * D), hidden(step * D), logits(step * c.vocab_size);
    embed(m, toks.data() + done, step, x.data());
    for (int64_t l = 0; l < L; ++l) {
      layer_qkv(m, l, x.data(), pos.data(), step, s, acts, ForwardOptions{});
      kc[l].insert(kc[l].end(), acts.k.begin(), acts.k.begin() + step * KVD);
      vc[l].insert(vc[l].end(), acts.v.begin(), acts.v.begin() + step * KVD);
      std::vector<double> scratch(step * (done + step));
      wb::kernels::attention_forward_seq<double>(acts.att.data(), H * hd, nullptr, scratch.data(),
                                                 acts.q.data(), H * hd, kc[l].data(), vc[l].data(),
                                                 KVD, step, done + step, H,
                                                 c.num_key_value_heads, hd);
      layer_out_mlp(m, l, x.data(), s, acts, ForwardOptions{}, x.data());
    }
    final_norm(m, x.data(), step, hidden.data(), nullptr);
    lm_head(m, hidden.data(), step, logits.data());
    for (int64_t i = 0; i < step * c.vocab_size; ++i)
      REQUIRE(logits[i] == Approx(full[done * c.vocab_size + i]).epsilon(1e-12));
    done += step;
  }
  CHECK(done == T);
}

TEST_CASE("recompute and keep-all forwards give identical outputs", "[forward]") {
  Model<double> m = model(5);
  const Batch b = Batch::pack({tokens_for(1, 8, 37), tokens_for(2, 5, 37)});
  Workspace<double> w1, w2;
  ForwardOptions o;
  o.for_backward = true;
  forward(m, b, w1, o);
  o.recompute = true;
  forward(m, b, w2, o);
  CHECK(w1.logits == w2.logits);
  CHECK(w2.bytes() < w1.bytes());
}

TEST_CASE("bad batches are refused with a message naming the problem", "[forward]") {
  const Model<double> m = model(6);
  Workspace<double> ws;
  auto run = [&](const Batch& b) { return error_of([&] { forward(m, b, ws, ForwardOptions{}); }); };
  Batch b = Batch::pack({tokens_for(1, 4, 37), tokens_for(2, 3, 37)});
  Batch bad = b;
  bad.tokens[5] = 37;
  CHECK_THAT(run(bad), Catch::Contains("token 37 at row 5"));
  bad = b;
  bad.tokens[0] = -3;
  CHECK_THAT(run(bad), Catch::Contains("outside the vocabulary"));
  bad = b;
  bad.cu_seqlens = {0, 4, 6};
  CHECK_THAT(run(bad), Catch::Contains("cu_seqlens"));
  bad = b;
  bad.cu_seqlens = {0, 4, 4, 7};
  bad.last_index = {};
  CHECK_THAT(run(bad), Catch::Contains("empty"));
  bad = b;
  bad.last_index = {3, 2};
  CHECK_THAT(run(bad), Catch::Contains("last_index 2 of sequence 1"));
  bad = b;
  bad.positions = {0, 1};
  CHECK_THAT(run(bad), Catch::Contains("positions"));
  bad = b;
  bad.positions[2] = 64;
  CHECK_THAT(run(bad), Catch::Contains("max_position_embeddings"));
  CHECK_THAT(run(Batch{}), Catch::Contains("no tokens"));
  CHECK_THROWS_AS(Batch::pack({{1, 2}, {}}), std::invalid_argument);
  ForwardOptions o;
  o.head = true;
  CHECK_THAT(error_of([&] { forward(m, b, ws, o); }), Catch::Contains("no scalar head"));
  // an adapter shaped for another model
  LlamaConfig other = m.config;
  other.hidden_size = 8;
  other.num_attention_heads = 2;
  other.num_key_value_heads = 1;
  LoraConfig lc;
  auto wrong = LoraAdapter<double>::init(other, lc, 1);
  CHECK_THAT(error_of([&] { forward(m, b, ws, ForwardOptions{}, {&wrong, nullptr}); }),
             Catch::Contains("q_proj.lora_A.weight"));
  // the model is still usable after every refusal
  CHECK_NOTHROW(forward(m, b, ws, ForwardOptions{}));
}

TEST_CASE("the ranking and cross-entropy losses match their formulas", "[forward]") {
  const double rc[] = {2.0, -1.0, 50.0, -50.0}, rr[] = {1.0, 1.0, 0.0, 0.0}, mg[] = {1.0, 0.0, 0.5, 0.0};
  double dc[4], dr[4];
  const double loss = ranking_loss<double>(rc, rr, mg, 4, dc, dr);
  double want = 0;
  for (int p = 0; p < 4; ++p) {
    const double z = rc[p] - rr[p] - mg[p];
    want += std::log1p(std::exp(-z));
    CHECK(dc[p] == Approx(-1.0 / (1.0 + std::exp(z)) / 4.0));
    CHECK(dr[p] == -dc[p]);
  }
  CHECK(loss == Approx(want / 4.0));
  CHECK(std::isfinite(loss));
  // cross-entropy: masked rows and rows without target do not count
  const std::vector<double> logits = {0, 0, 0, 1, 2, 3, 5, 5, 5};
  std::vector<double> dl(9);
  int64_t counted = 0;
  const double ce = token_cross_entropy<double>(logits.data(), 3, 3, {2, 0, -1}, {0.0, 1.0, 1.0}, dl.data(), &counted);
  CHECK(counted == 1);
  CHECK(ce == Approx(std::log(std::exp(1) + std::exp(2) + std::exp(3)) - 1.0));
  CHECK(dl[0] == 0.0);
  CHECK(dl[8] == 0.0);
  CHECK(dl[3] == Approx(std::exp(1) / (std::exp(1) + std::exp(2) + std::exp(3)) - 1.0));
  CHECK_THROWS_AS(token_cross_entropy<double>(logits.data(), 3, 3, {3, 0, 0}, {}, nullptr), std::invalid_argument);
  CHECK_THROWS_AS(token_cross_entropy<double>(logits.data(), 3, 3, {0, 0}, {}, nullptr), std::invalid_argument);
}

TEST_CASE("models, adapters and heads round-trip through HF / PEFT files", "[forward][io]") {
  TempDir tmp;
  Model<float> m;
  m.config = tiny_config();
  m.weights = Weights<float>::random(m.config, 7);
  save_model(tmp.path() / "f32", m);
  Model<float> back = load_model<float>(tmp.path() / "f32");
  CHECK(back.config.num_key_value_heads == m.config.num_key_value_heads);
  m.weights.for_each([&](const std::string& name, const Tensor<float>& t) {
    bool found = false;
    back.weights.for_each([&](const std::string& n2, const Tensor<float>& t2) {
      if (n2 == name) {
        found = true;
        CHECK(t2.data == t.data);
      }
    });
    CHECK(found);
  });

  // bf16 storage: loaded values are the bf16 roundings, and the config says bfloat16.
  save_model(tmp.path() / "bf16", m, DType::BF16);
  Model<double> b16 = load_model<double>(tmp.path() / "bf16");
  CHECK(b16.config.torch_dtype == "bfloat16");
  const float w0 = m.weights.layers[1].down_proj.data[5];
  CHECK(b16.weights.layers[1].down_proj.data[5] == double(bf16_to_f32(f32_to_bf16(w0))));

  // Tied embeddings: no lm_head tensor is written.
  Model<float> tied;
  tied.config = tiny_config();
  tied.config.tie_word_embeddings = true;
  tied.weights = Weights<float>::random(tied.config, 8);
  save_model(tmp.path() / "tied", tied);
  CHECK_FALSE(SafetensorsFile(tmp.path() / "tied" / "model.safetensors").contains("lm_head.weight"));
  CHECK(load_model<float>(tmp.path() / "tied").weights.lm_head.empty());

  // A file missing a tensor, or holding a wrongly shaped one, is refused by name.
  {
    SafetensorsWriter w;
    m.weights.for_each([&](const std::string& name, const Tensor<float>& t) {
      if (name != "model.layers.1.mlp.up_proj.weight") w.add_f32(name, t.shape, t.data);
    });
    fs::create_directories(tmp.path() / "missing");
    w.write(tmp.path() / "missing" / "model.safetensors");
    fs::copy_file(tmp.path() / "f32" / "config.json", tmp.path() / "missing" / "config.json");
    CHECK_THAT(error_of([&] { load_model<float>(tmp.path() / "missing"); }),
               Catch::Contains("model.layers.1.mlp.up_proj.weight"));
  }
  {
    SafetensorsWriter w;
    m.weights.for_each([&](const std::string& name, const Tensor<float>& t) {
      if (name == "model.norm.weight")
        w.add_f32(name, {8}, std::vector<float>(8, 1.0f));
      else
        w.add_f32(name, t.shape, t.data);
    });
    fs::create_directories(tmp.path() / "shape");
    w.write(tmp.path() / "shape" / "model.safetensors");
    fs::copy_file(tmp.path() / "f32" / "config.json", tmp.path() / "shape" / "config.json");
    CHECK_THAT(error_of([&] { load_model<float>(tmp.path() / "shape"); }),
               Catch::Contains("model.norm.weight") && Catch::Contains("[8]"));
  }

  // PEFT adapter round trip.
  LoraConfig lc;
  lc.r = 2;
  lc.lora_alpha = 4;
  lc.target_modules = {LoraModule::Q, LoraModule::Down};
  auto a = LoraAdapter<float>::init(m.config, lc, 3);
  randomize_b(a, 4, 0.1);
  save_peft_adapter(tmp.path() / "adapter", a.to_peft());
  auto a2 = LoraAdapter<float>::from_peft(load_peft_adapter(tmp.path() / "adapter"), m.config);
  CHECK(a2.config.r == 2);
  CHECK(a2.layers[1][static_cast<int>(LoraModule::Down)].B.data ==
        a.layers[1][static_cast<int>(LoraModule::Down)].B.data);
  CHECK(a2.pair(0, LoraModule::K) == nullptr);
  LlamaConfig other = m.config;
  other.num_hidden_layers = 1;
  CHECK_THROWS_AS(LoraAdapter<float>::from_peft(a.to_peft(), other), std::invalid_argument);

  // Scalar head.
  auto h = ScalarHead<float>::random(m.config.hidden_size, 5, 1.0);
  h.bias.data[0] = 0.75f;
  save_head(tmp.path() / "score.safetensors", h);
  auto h2 = load_head<float>(tmp.path() / "score.safetensors", m.config.hidden_size);
  CHECK(h2.weight.data == h.weight.data);
  CHECK(h2.bias.data[0] == 0.75f);
  CHECK_THROWS(load_head<float>(tmp.path() / "score.safetensors", m.config.hidden_size + 1));
}

TEST_CASE("random init is deterministic and per-tensor independent of creation order", "[forward]") {
  const LlamaConfig c = tiny_config();
  const auto w1 = Weights<float>::random(c, 99), w2 = Weights<float>::random(c, 99);
  const auto w3 = Weights<float>::random(c, 100);
  CHECK(w1.layers[0].q_proj.data == w2.layers[0].q_proj.data);
  CHECK(w1.layers[0].q_proj.data != w3.layers[0].q_proj.data);
  CHECK(w1.layers[0].input_layernorm.data == std::vector<float>(c.hidden_size, 1.0f));
  double s = 0, s2 = 0;
  for (float x : w1.embed_tokens.data) s += x, s2 += double(x) * x;
  const double n = w1.embed_tokens.numel();
  CHECK(std::abs(s / n) < 0.005);
  CHECK(std::sqrt(s2 / n) == Approx(0.02).epsilon(0.1));
  CHECK(w1.numel() == c.parameter_count());
}
