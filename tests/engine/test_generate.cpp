// generate(): greedy equals repeated argmax of the full forward; a seeded request's tokens do not
// depend on the batch it runs in; EOS, max_tokens, stop strings across tokens, streaming, errors.
#include <catch2/catch.hpp>

#include "runtime_test_util.h"
#include "wb/llama/forward.h"
#include "wb/llama/generate.h"

using namespace wb::llama;
using namespace wb::llama::testing;

namespace {

// Greedy continuation by re-running the full forward over the growing sequence.
std::vector<int32_t> reference_greedy(const Model<float>& m, std::vector<int32_t> seq, int n,
                                      const LoraAdapter<float>* a) {
  std::vector<int32_t> out;
  Workspace<float> ws;
  for (int i = 0; i < n; ++i) {
    forward(m, Batch::pack({seq}), ws, ForwardOptions{}, std::vector<const LoraAdapter<float>*>{a});
    const int32_t t = argmax(std::span<const float>(ws.logits.data() + (seq.size() - 1) * m.config.vocab_size,
                                                    static_cast<size_t>(m.config.vocab_size)));
    out.push_back(t);
    seq.push_back(t);
  }
  return out;
}

// One letter per token id: lets tests reason about text across token boundaries.
std::string letter(int32_t id) { return std::string(1, static_cast<char>('a' + id % 26)); }

struct Fixture {
  LlamaConfig c = small_config();
  Model<float> m;
  LoraAdapter<float> a;
  Fixture() : m(Model<float>::random(c, 61)) {
    m.weights = Weights<float>::random(c, 61, 0.3);  // peaked logits: greedy is well defined
    LoraConfig lc;
    lc.r = 2;
    lc.lora_alpha = 4;
    lc.target_modules = {LoraModule::Q, LoraModule::Up};
    a = LoraAdapter<float>::init(c, lc, 62);
    Rng rng(63);
    a.for_each([&](const std::string&, Tensor<float>& t) {
      for (auto& x : t.data) x = rng.normal() * 0.3f;
    });
  }
  // Requests ignore EOS unless a test asks for it (a random model may emit id 2 at any time).
  static GenerateRequest req() {
    GenerateRequest r;
    r.stop_at_eos = false;
    return r;
  }
};

}  // namespace

TEST_CASE("greedy generation equals repeated full-forward argmax, with and without adapter", "[generate]") {
  Fixture f;
  GenerateRequest r = Fixture::req();
  r.prompt = {1, 17, 42, 9};
  r.sampling.temperature = 0;
  r.max_tokens = 12;
  GenerateRequest ra = r;
  ra.adapter = &f.a;
  const auto res = generate(f.m, {r, ra});
  REQUIRE(res.size() == 2);
  CHECK(res[0].tokens == reference_greedy(f.m, r.prompt, 12, nullptr));
  CHECK(res[1].tokens == reference_greedy(f.m, r.prompt, 12, &f.a));
  CHECK(res[0].tokens != res[1].tokens);
  CHECK(res[0].finish == FinishReason::kLength);
  CHECK(std::string(finish_reason_name(res[0].finish)) == "length");
}

TEST_CASE("a seeded request samples the same tokens alone or in a batch", "[generate]") {
  Fixture f;
  GenerateRequest r = Fixture::req();
  r.prompt = {1, 5, 6};
  r.sampling.temperature = 0.9;
  r.sampling.top_p = 0.95;
  r.sampling.seed = 1234;
  r.max_tokens = 16;
  const auto alone = generate(f.m, {r});
  GenerateRequest other = r;
  other.prompt = {1, 70, 71, 72, 73, 74};
  other.sampling.seed = 99;
  other.adapter = &f.a;
  GenerateRequest greedy = r;
  greedy.sampling.temperature = 0;
  greedy.max_tokens = 3;
  const auto batch = generate(f.m, {other, r, greedy});
  CHECK(batch[1].tokens == alone[0].tokens);
  r.sampling.seed = 1235;
  CHECK(generate(f.m, {r})[0].tokens != alone[0].tokens);
}

TEST_CASE("EOS ends a request and is not returned", "[generate]") {
  Fixture f;
  GenerateRequest r = Fixture::req();
  r.prompt = {1, 30};
  r.sampling.temperature = 0;
  r.max_tokens = 10;
  const auto free = generate(f.m, {r})[0].tokens;
  // Declare the third greedy token EOS (when it did not already occur earlier).
  const int32_t eos = free[2];
  if (free[0] != eos && free[1] != eos) {
    f.m.config.eos_token_id = eos;
    r.stop_at_eos = true;
    const auto res = generate(f.m, {r})[0];
    CHECK(res.finish == FinishReason::kEos);
    CHECK(res.tokens == std::vector<int32_t>(free.begin(), free.begin() + 2));
    r.stop_at_eos = false;
    CHECK(generate(f.m, {r})[0].tokens == free);
  }
}

TEST_CASE("stop strings spanning tokens cut the text, streaming never shows them", "[generate]") {
  Fixture f;
  GenerateRequest r = Fixture::req();
  r.prompt = {1, 44, 45};
  r.sampling.temperature = 0;
  r.max_tokens = 10;
  r.detokenize = letter;
  const auto free = generate(f.m, {r})[0];
  REQUIRE(free.text.size() == 10);
  // Stop at the text of tokens 3..4 (spans a token boundary).
  const std::string stop = free.text.substr(3, 2);
  if (free.text.find(stop) == 3) {
    r.stop = {"zzzz", stop};
    std::string streamed;
    r.on_token = [&](int32_t, const std::string& piece) {
      streamed += piece;
      return true;
    };
    const auto res = generate(f.m, {r})[0];
    CHECK(res.finish == FinishReason::kStop);
    CHECK(res.text == free.text.substr(0, 3));
    CHECK(streamed == res.text);
    CHECK(res.tokens.size() == 5);
  }
  // Cancelling from the stream callback.
  GenerateRequest c = r;
  c.stop.clear();
  int seen = 0;
  c.on_token = [&](int32_t, const std::string&) { return ++seen < 4; };
  const auto cancelled = generate(f.m, {c})[0];
  CHECK(cancelled.finish == FinishReason::kCancelled);
  CHECK(cancelled.tokens.size() == 4);
}

TEST_CASE("generate stops at the context length and rejects bad requests", "[generate]") {
  Fixture f;
  GenerateRequest r = Fixture::req();
  r.prompt = std::vector<int32_t>(static_cast<size_t>(f.c.max_position_embeddings - 2), 7);
  r.sampling.temperature = 0;
  r.max_tokens = 50;
  const auto res = generate(f.m, {r})[0];
  CHECK(res.finish == FinishReason::kLength);
  CHECK(res.tokens.size() == 3);  // two fit in the cache, the third is sampled from the last logits
  GenerateRequest bad = Fixture::req();
  CHECK_THROWS_WITH(generate(f.m, {bad}), Catch::Contains("empty prompt"));
  bad.prompt = {1, static_cast<int32_t>(f.c.vocab_size)};
  CHECK_THROWS_WITH(generate(f.m, {bad}), Catch::Contains("vocabulary"));
  bad.prompt = {1};
  bad.stop = {"x"};
  CHECK_THROWS_WITH(generate(f.m, {bad}), Catch::Contains("detokenizer"));
  bad.stop.clear();
  bad.sampling.top_p = 2;
  CHECK_THROWS_WITH(generate(f.m, {bad}), Catch::Contains("request 0: sampling: top_p"));
  GenerateRequest zero = Fixture::req();
  zero.prompt = {1};
  zero.max_tokens = 0;
  CHECK(generate(f.m, {zero})[0].tokens.empty());
}
