// The attention share on a key span (wb/llama/attention_share.h) is the forward's own attention:
// probabilities computed directly in double from each layer's q and k reproduce the forward's
// attention output (P V), and the share is their head-mean sum over the span, with and without
// a LoRA adapter; spans covering everything or nothing give 1 and 0; bad spans are refused.
#include <catch2/catch.hpp>

#include <cmath>

#include "test_grad_common.h"
#include "wb/llama/attention_share.h"

using namespace wbtest;

namespace {

Model<double> model(uint64_t seed) {
  Model<double> m;
  m.config = tiny_config();
  m.weights = Weights<double>::random(m.config, seed, 0.4);
  return m;
}

// P[h][i][j] for one layer, straight from the definition: exp(q_i.k_j / sqrt(hd)) over j <= i,
// normalized (no max subtraction: the scores of this tiny model are small).
std::vector<std::vector<std::vector<double>>> probs(const LayerActs<double>& a, const LlamaConfig& c, int64_t n) {
  const int64_t H = c.num_attention_heads, KV = c.num_key_value_heads, hd = c.head_dim();
  std::vector<std::vector<std::vector<double>>> P(H, std::vector<std::vector<double>>(n, std::vector<double>(n, 0.0)));
  for (int64_t h = 0; h < H; ++h) {
    const int64_t g = h / (H / KV);
    for (int64_t i = 0; i < n; ++i) {
      double z = 0;
      for (int64_t j = 0; j <= i; ++j) {
        double s = 0;
        for (int64_t d = 0; d < hd; ++d) s += a.q[i * H * hd + h * hd + d] * a.k[j * KV * hd + g * hd + d];
        P[h][i][j] = std::exp(s / std::sqrt(double(hd)));
        z += P[h][i][j];
      }
      for (int64_t j = 0; j <= i; ++j) P[h][i][j] /= z;
    }
  }
  return P;
}

// Checks attention_share against the direct computation for one model (+ adapter).
void check_against_direct(const Model<double>& m, const LoraAdapter<double>* adapter, const std::vector<int32_t>& tokens,
                          KeySpan span) {
  const LlamaConfig& c = m.config;
  const int64_t n = static_cast<int64_t>(tokens.size()), H = c.num_attention_heads, KV = c.num_key_value_heads,
                hd = c.head_dim();
  Workspace<double> ws;
  ForwardOptions opts;
  opts.for_backward = true;
  std::vector<const LoraAdapter<double>*> ad;
  if (adapter) ad.push_back(adapter);
  forward(m, Batch::pack({tokens}), ws, opts, ad);
  const auto share = attention_share(m, tokens, span, adapter);
  REQUIRE(static_cast<int64_t>(share.size()) == c.num_hidden_layers);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const LayerActs<double>& a = ws.acts[l];
    const auto P = probs(a, c, n);
    // These probabilities are the forward's: P V is the layer's attention output.
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < n; ++i)
        for (int64_t d = 0; d < hd; ++d) {
          double o = 0;
          for (int64_t j = 0; j <= i; ++j) o += P[h][i][j] * a.v[j * KV * hd + (h / (H / KV)) * hd + d];
          REQUIRE(o == Approx(a.att[i * H * hd + h * hd + d]).margin(1e-12));
        }
    REQUIRE(static_cast<int64_t>(share[l].size()) == n);
    for (int64_t i = 0; i < n; ++i) {
      double want = 0;
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = span.begin; j < std::min(span.end, i + 1); ++j) want += P[h][i][j] / double(H);
      INFO("layer " << l << " position " << i);
      CHECK(share[l][i] == Approx(want).margin(1e-12));
    }
  }
}

}  // namespace

TEST_CASE("attention share on a key span equals the forward's probabilities summed over the span", "[attention_share]") {
  const Model<double> m = model(11);
  const auto tokens = tokens_for(5, 19, m.config.vocab_size);
  check_against_direct(m, nullptr, tokens, {2, 7});
  check_against_direct(m, nullptr, tokens, {0, 1});
  check_against_direct(m, nullptr, tokens, {10, 19});
}

TEST_CASE("attention share with a LoRA adapter follows the adapter's q and k", "[attention_share]") {
  const Model<double> m = model(12);
  LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 8;
  lc.target_modules = all_lora_modules();
  auto adapter = LoraAdapter<double>::init(m.config, lc, 3);
  randomize_b(adapter, 103, 0.5);
  const auto tokens = tokens_for(6, 15, m.config.vocab_size);
  check_against_direct(m, &adapter, tokens, {1, 6});
  const auto with = attention_share(m, tokens, {1, 6}, &adapter);
  const auto without = attention_share(m, tokens, {1, 6});
  double diff = 0;
  for (size_t l = 0; l < with.size(); ++l)
    for (size_t i = 0; i < with[l].size(); ++i) diff = std::max(diff, std::abs(with[l][i] - without[l][i]));
  CHECK(diff > 1e-3);
}

TEST_CASE("attention share: the whole prefix is 1, an empty span 0, a float model agrees with double", "[attention_share]") {
  const Model<double> m = model(13);
  const auto tokens = tokens_for(7, 12, m.config.vocab_size);
  for (const auto& layer : attention_share(m, tokens, {0, 12}))
    for (double s : layer) CHECK(s == Approx(1.0).margin(1e-12));
  for (const auto& layer : attention_share(m, tokens, {4, 4}))
    for (double s : layer) CHECK(s == 0.0);
  // Position 0 sees only itself: a span holding it takes all of its attention.
  for (const auto& layer : attention_share(m, tokens, {0, 1})) CHECK(layer[0] == Approx(1.0));

  Model<float> f;
  f.config = m.config;
  f.weights = Weights<float>::random(f.config, 13, 0.4);  // same seed: the same weights in float
  const auto fs = attention_share(f, tokens, {0, 5});
  const auto ds = attention_share(m, tokens, {0, 5});
  for (size_t l = 0; l < fs.size(); ++l)
    for (size_t i = 0; i < fs[l].size(); ++i) CHECK(fs[l][i] == Approx(ds[l][i]).margin(1e-4));
}

TEST_CASE("attention share refuses a span outside the sequence and an empty sequence", "[attention_share]") {
  const Model<double> m = model(14);
  const auto tokens = tokens_for(8, 6, m.config.vocab_size);
  CHECK_THROWS_WITH(attention_share(m, tokens, {0, 7}), Catch::Contains("key span [0, 7) is outside the sequence of 6"));
  CHECK_THROWS_WITH(attention_share(m, tokens, {3, 2}), Catch::Contains("key span"));
  CHECK_THROWS_WITH(attention_share(m, std::vector<int32_t>{}, {0, 0}), Catch::Contains("empty sequence"));
}
