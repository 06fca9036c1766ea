// Packed weights (Weights::pack_fused): q/k/v and gate/up held as one fused matrix each, with no
// second copy; prefill-sized products run as one GEMM per group and give what one GEMM per
// linear gives, LoRA on every module included; LoRA gradients through the fused products match
// finite differences in double.
#include <catch2/catch.hpp>

#include <cmath>
#include <stdexcept>

#include "runtime_test_util.h"
#include "test_grad_common.h"
#include "wb/llama/decode.h"
#include "wb/llama/forward.h"
#include "wb/llama/sampler.h"

using namespace wb::llama;

namespace {

template <typename T>
LoraAdapter<T> all_modules_adapter(const LlamaConfig& c, uint64_t seed) {
  LoraConfig lc;
  lc.r = 3;
  lc.lora_alpha = 6;
  lc.target_modules = all_lora_modules();
  LoraAdapter<T> a = LoraAdapter<T>::init(c, lc, seed);
  Rng rng(seed + 100);
  a.for_each([&](const std::string&, Tensor<T>& t) {
    for (auto& x : t.data) x = static_cast<T>(rng.normal() * 0.2);  // B != 0: the adapter matters
  });
  return a;
}

template <typename T>
double max_abs_diff(const std::vector<T>& a, const std::vector<T>& b) {
  REQUIRE(a.size() == b.size());
  double d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(double(a[i]) - double(b[i])));
  return d;
}

// Two sequences of 40 tokens: 80 rows, above stream_rows, so the base products run as sgemm.
Batch two_sequences(const LlamaConfig& c) {
  return Batch::pack({wbtest::tokens_for(3, 40, c.vocab_size), wbtest::tokens_for(4, 40, c.vocab_size)});
}

}  // namespace

TEST_CASE("packing q/k/v and gate/up moves the values into fused matrices without a second copy", "[fused]") {
  const LlamaConfig c = testing::small_config();
  const Model<float> ref = Model<float>::random(c, 5);
  Model<float> m = ref;
  const int64_t numel = m.weights.numel();
  m.weights.pack_fused();
  REQUIRE(m.weights.packed());
  CHECK(m.weights.numel() == numel);
  CHECK_NOTHROW(m.validate());
  for (size_t l = 0; l < m.weights.layers.size(); ++l) {
    const auto& w = m.weights.layers[l];
    for (LoraModule mod : all_lora_modules()) {
      const auto& hf = ref.weights.layers[l].linear(mod);
      INFO("layer " << l << " module " << lora_module_name(mod));
      CHECK(std::equal(hf.data.begin(), hf.data.end(), w.linear_ptr(mod)));
      CHECK(w.linear(mod).shape == hf.shape);
    }
    for (LoraModule mod : {LoraModule::Q, LoraModule::K, LoraModule::V, LoraModule::Gate, LoraModule::Up})
      CHECK(w.linear(mod).data.capacity() == 0);  // freed, not copied
  }
  // Reading tensors by name needs the HF layout: a clear error, not empty data.
  CHECK_THROWS_AS(m.weights.for_each([](const std::string&, Tensor<float>&) {}), std::logic_error);
  m.weights.unpack_fused();
  CHECK_FALSE(m.weights.packed());
  for (size_t l = 0; l < m.weights.layers.size(); ++l)
    for (LoraModule mod : all_lora_modules())
      CHECK(m.weights.layers[l].linear(mod).data == ref.weights.layers[l].linear(mod).data);
}

TEST_CASE("fused q/k/v and gate/up products give the forward of one GEMM per linear", "[fused]") {
  const LlamaConfig c = testing::small_config();
  const Model<float> plain = Model<float>::random(c, 6);
  Model<float> packed = plain;
  packed.weights.pack_fused();
  const LoraAdapter<float> a = all_modules_adapter<float>(c, 7);
  const Batch b = two_sequences(c);
  for (bool with_adapter : {false, true})
    for (bool for_backward : {false, true}) {
      INFO("adapter " << with_adapter << " for_backward " << for_backward);
      // Sequence 0 with the adapter (when asked), sequence 1 on the base: two LoRA segments.
      const std::vector<const LoraAdapter<float>*> ads{with_adapter ? &a : nullptr, nullptr};
      ForwardOptions o;
      o.for_backward = for_backward;
      Workspace<float> w_plain, w_fused, w_unfused;
      forward(plain, b, w_plain, o, ads);
      forward(packed, b, w_fused, o, ads);
      ForwardOptions off = o;
      off.fuse_products = false;
      forward(packed, b, w_unfused, off, ads);
      CHECK(max_abs_diff(w_fused.logits, w_plain.logits) <= 1e-5);
      CHECK(max_abs_diff(w_unfused.logits, w_plain.logits) <= 1e-5);
      if (for_backward) {  // what backward reads: q, k, v, g, u of every layer
        CHECK(max_abs_diff(w_fused.acts[1].g, w_plain.acts[1].g) <= 1e-5);
        CHECK(max_abs_diff(w_fused.acts[1].u, w_plain.acts[1].u) <= 1e-5);
        CHECK(max_abs_diff(w_fused.acts[0].v, w_plain.acts[0].v) <= 1e-5);
      }
    }
}

TEST_CASE("prefill and greedy decode on packed weights pick the same tokens", "[fused]") {
  const LlamaConfig c = testing::small_config();
  const Model<float> plain = Model<float>::random(c, 8);
  Model<float> packed = plain;
  packed.weights.pack_fused();
  const LoraAdapter<float> a = all_modules_adapter<float>(c, 9);
  const std::vector<int32_t> prompt = wbtest::tokens_for(11, 60, c.vocab_size);
  auto greedy = [&](const Model<float>& m, bool fuse) {
    Decoder<float> dec(m);
    dec.set_fuse_products(fuse);
    DecodeSequence<float> s(c);
    s.adapter = &a;
    std::vector<float> logits;
    dec.prefill(s, prompt, logits);
    std::vector<int32_t> out;
    DecodeSequence<float>* one[1] = {&s};
    for (int i = 0; i < 20; ++i) {
      out.push_back(argmax(logits));
      dec.step(std::span<DecodeSequence<float>* const>(one, 1), {out.back()}, logits);
    }
    return out;
  };
  const auto ref = greedy(plain, true);
  CHECK(greedy(packed, true) == ref);
  CHECK(greedy(packed, false) == ref);
}

TEST_CASE("LoRA gradients through the fused products match finite differences (double)", "[fused][grad]") {
  using namespace wbtest;
  Model<double> m;
  m.config = tiny_config();
  m.weights = Weights<double>::random(m.config, 12, 0.2);
  m.weights.pack_fused();
  LoraConfig lc;
  lc.r = 3;
  lc.lora_alpha = 6.0;
  lc.target_modules = all_lora_modules();
  m.lora = LoraAdapter<double>::init(m.config, lc, 5);
  randomize_b(*m.lora, 99, 0.2);
  m.trainable.lora = true;
  const LmBatch lb = lm_batch({5, 3, 4}, m.config.vocab_size);
  const LossSpec spec{&lb, {}, {}};
  Workspace<double> ws;
  Gradients<double> g = Gradients<double>::for_model(m);
  g.zero();
  eval_loss(m, lb.batch, spec, {}, ws, &g);
  auto params = parameters(m, g);
  Workspace<double> ws2;
  const GradCheckResult r = grad_check(params, [&] { return eval_loss(m, lb.batch, spec, {}, ws2, nullptr); }, 1 << 30);
  INFO(r.worst);
  CHECK(r.checked == m.lora->numel());
  CHECK(r.max_rel < 1e-5);
}
