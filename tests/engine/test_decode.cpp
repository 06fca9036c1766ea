// KV-cache decoding: logits of prefill (chunked) + incremental steps equal the full forward's
// (fp32 to ~1e-5, double to ~1e-12), for a batch mixing sequences with different adapters;
// cache growth, limits and bad input.
#include <catch2/catch.hpp>

#include <cmath>

#include "runtime_test_util.h"
#include "wb/llama/decode.h"
#include "wb/llama/forward.h"

using namespace wb::llama;
using namespace wb::llama::testing;

namespace {

template <typename T>
LoraAdapter<T> random_adapter(const LlamaConfig& c, uint64_t seed, std::vector<LoraModule> targets) {
  LoraConfig lc;
  lc.r = 3;
  lc.lora_alpha = 6;
  lc.target_modules = std::move(targets);
  LoraAdapter<T> a = LoraAdapter<T>::init(c, lc, seed);
  Rng rng(seed + 100);
  a.for_each([&](const std::string&, Tensor<T>& t) {
    for (auto& x : t.data) x = static_cast<T>(rng.normal() * 0.2);  // B != 0: the adapter matters
  });
  return a;
}

std::vector<int32_t> tokens_of(const LlamaConfig& c, int n, uint64_t seed) {
  Rng rng(seed);
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(c.vocab_size))));
  return t;
}

// Full-forward logits [L, V] of one sequence with an adapter (or none).
template <typename T>
std::vector<T> full_logits(const Model<T>& m, const std::vector<int32_t>& toks, const LoraAdapter<T>* a,
                           int64_t stream_rows = ForwardOptions{}.stream_rows) {
  Workspace<T> ws;
  ForwardOptions o;
  o.stream_rows = stream_rows;
  forward(m, Batch::pack({toks}), ws, o, std::vector<const LoraAdapter<T>*>{a});
  return ws.logits;
}

template <typename T>
double max_rel_diff(const T* a, const T* b, int64_t n) {
  double scale = 1e-30, diff = 0;
  for (int64_t i = 0; i < n; ++i) {
    scale = std::max(scale, std::fabs(double(b[i])));
    diff = std::max(diff, std::fabs(double(a[i]) - double(b[i])));
  }
  return diff / scale;
}

// Decode with the decoder's stream_rows against the full forward with ref_stream_rows (0: BLAS
// for every product, the reference the row kernel must match).
template <typename T>
void check_incremental(double tol, int64_t stream_rows = ForwardOptions{}.stream_rows,
                       int64_t ref_stream_rows = ForwardOptions{}.stream_rows) {
  const LlamaConfig c = small_config();
  Model<T> m = Model<T>::random(c, 41);
  const LoraAdapter<T> a1 = random_adapter<T>(c, 42, {LoraModule::Q, LoraModule::V, LoraModule::Down});
  const LoraAdapter<T> a2 = random_adapter<T>(c, 43, {LoraModule::K, LoraModule::O, LoraModule::Gate, LoraModule::Up});
  const std::vector<const LoraAdapter<T>*> adapters{nullptr, &a1, &a2, &a1};
  const std::vector<int> lengths{20, 13, 17, 9};
  const int prompt = 6;
  Decoder<T> dec(m);
  dec.set_stream_rows(stream_rows);
  std::vector<DecodeSequence<T>> seqs;
  std::vector<std::vector<int32_t>> toks;
  for (size_t s = 0; s < adapters.size(); ++s) {
    seqs.emplace_back(c);
    seqs.back().adapter = adapters[s];
    toks.push_back(tokens_of(c, lengths[s], 50 + s));
  }
  std::vector<std::vector<T>> got(adapters.size());
  // Prefill each prompt alone (chunks of 4, all positions kept), then decode the rest together.
  std::vector<T> logits;
  for (size_t s = 0; s < seqs.size(); ++s) {
    for (int at = 0; at < prompt; at += 4) {
      DecodeSequence<T>* one[1] = {&seqs[s]};
      std::vector<int32_t> part(toks[s].begin() + at, toks[s].begin() + std::min(prompt, at + 4));
      dec.forward(std::span<DecodeSequence<T>* const>(one, 1), {part}, logits, true);
      got[s].insert(got[s].end(), logits.begin(), logits.end());
    }
  }
  for (int pos = prompt; pos < 20; ++pos) {
    std::vector<DecodeSequence<T>*> running;
    std::vector<int32_t> next;
    std::vector<size_t> which;
    for (size_t s = 0; s < seqs.size(); ++s)
      if (pos < lengths[s]) {
        running.push_back(&seqs[s]);
        next.push_back(toks[s][pos]);
        which.push_back(s);
      }
    dec.step(running, next, logits);
    REQUIRE(logits.size() == running.size() * c.vocab_size);
    for (size_t i = 0; i < which.size(); ++i)
      got[which[i]].insert(got[which[i]].end(), logits.begin() + i * c.vocab_size, logits.begin() + (i + 1) * c.vocab_size);
  }
  for (size_t s = 0; s < seqs.size(); ++s) {
    CHECK(seqs[s].length() == lengths[s]);
    const std::vector<T> want = full_logits(m, toks[s], adapters[s], ref_stream_rows);
    REQUIRE(got[s].size() == want.size());
    const double d = max_rel_diff(got[s].data(), want.data(), static_cast<int64_t>(want.size()));
    INFO("sequence " << s << " max relative difference " << d);
    CHECK(d < tol);
  }
  // The adapters matter: sequence 1's logits differ from the base model's.
  const std::vector<T> base1 = full_logits<T>(m, toks[1], nullptr);
  CHECK(max_rel_diff(got[1].data(), base1.data(), static_cast<int64_t>(base1.size())) > 1e-3);
}

}  // namespace

TEST_CASE("incremental decode equals the full forward (fp32)", "[decode]") { check_incremental<float>(2e-5); }
TEST_CASE("incremental decode equals the full forward (double)", "[decode]") { check_incremental<double>(1e-12); }
// Decode steps of 2..4 rows run on the row kernel (stream_rows), the reference forward on BLAS
// alone, and the other way round: the same function to float rounding.
TEST_CASE("decode batches on the row kernel equal the BLAS forward (fp32)", "[decode]") {
  check_incremental<float>(2e-5, 32, 0);
  check_incremental<float>(2e-5, 0, 32);
}

TEST_CASE("prefill in chunks gives the last token's logits", "[decode]") {
  const LlamaConfig c = small_config(true);
  Model<float> m = Model<float>::random(c, 44);
  const auto toks = tokens_of(c, 37, 45);
  Decoder<float> dec(m);
  DecodeSequence<float> s(c);
  std::vector<float> last;
  dec.prefill(s, toks, last, 8);
  CHECK(s.length() == 37);
  const auto want = full_logits<float>(m, toks, nullptr);
  CHECK(max_rel_diff(last.data(), want.data() + 36 * c.vocab_size, c.vocab_size) < 2e-5);
}

TEST_CASE("kv cache grows on demand and stops at the context length", "[decode]") {
  LlamaConfig c = small_config();
  KvCache<float> kc(c);
  CHECK(kc.bytes() == 0);
  kc.reserve(10);
  CHECK(kc.capacity() == 64);
  kc.reserve(65);
  CHECK(kc.capacity() == 128);
  CHECK(kc.bytes() == 2 * c.num_hidden_layers * 128 * c.kv_dim() * 4);
  CHECK_THROWS_AS(kc.reserve(129), std::length_error);
  KvCache<float> small(c, 5);
  small.reserve(5);
  CHECK(small.capacity() == 5);

  Model<float> m = Model<float>::random(c, 46);
  Decoder<float> dec(m);
  DecodeSequence<float> s(c, 8);
  std::vector<float> logits;
  dec.prefill(s, tokens_of(c, 6, 47), logits);
  // Three more tokens would pass the sequence's limit of 8: refused, cache untouched.
  DecodeSequence<float>* one[1] = {&s};
  CHECK_THROWS_AS(dec.forward(std::span<DecodeSequence<float>* const>(one, 1), {{1, 2, 3}}, logits), std::length_error);
  CHECK(s.length() == 6);
  CHECK_THROWS_WITH(dec.step(one, {static_cast<int32_t>(c.vocab_size)}, logits), Catch::Contains("vocabulary"));
  CHECK(s.length() == 6);
  CHECK_THROWS_WITH(dec.forward(std::span<DecodeSequence<float>* const>(one, 1), {{}}, logits), Catch::Contains("no new tokens"));
  dec.step(one, {5}, logits);
  CHECK(s.length() == 7);
  s.cache.truncate(6);
  CHECK(s.length() == 6);
}
