// The engine's GPU head scorer (wb/llama/head_scorer.h, make_head_scorer on cuda) against the
// CPU's score_head in fp32, on a
// tiny random model with odd sizes (hidden 48, 3 query heads over 1 KV head, 3 layers, vocab 101)
// and a LoRA reward adapter with a random B on all seven linears + a scalar head: sequences of 1
// to 96 tokens (the whole context), in chunks with a tail; swapping adapters (another rank and
// targets), the base alone, and bad input refused before anything runs; a chunk the device has no
// memory for refused, the calls after it right. Skipped without a GPU.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

#include "../gpu_test_util.h"  // require_device()
#include "wb/cuda/check.h"
#include "wb/cuda/device.h"
#include "wb/llama/device.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/llama/peft_config.h"
#include "wb/llama/head_scorer.h"

using namespace wb;
using Adapter = llama::LoraAdapter<float>;
using wb::cuda::test::require_device;

namespace {

llama::DeviceChoice on_gpu() {
  llama::DeviceChoice d;
  d.cuda = true;
  return d;
}

llama::LlamaConfig odd_config() {
  llama::LlamaConfig c;
  c.hidden_size = 48;
  c.intermediate_size = 136;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 3;
  c.num_key_value_heads = 1;
  c.vocab_size = 101;
  c.max_position_embeddings = 96;
  return c;
}

// A PEFT-initialised adapter with B drawn too (PEFT starts B at 0, which would hide the adapter).
std::shared_ptr<const Adapter> random_adapter(const llama::LlamaConfig& c, int64_t r,
                                              std::vector<llama::LoraModule> targets, uint64_t seed) {
  llama::LoraConfig lc;
  lc.r = r;
  lc.lora_alpha = 2.0 * static_cast<double>(r);
  lc.target_modules = std::move(targets);
  auto a = std::make_shared<Adapter>(Adapter::init(c, lc, seed));
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::normal_distribution<float> nd(0.0f, 0.05f);
  a->for_each([&](const std::string& key, llama::Tensor<float>& t) {
    if (key.find("lora_B") != std::string::npos)
      for (auto& x : t.data) x = nd(rng);
  });
  return a;
}

// Lengths 1..96 in a shuffled order, with the shortest and the whole context present.
std::vector<std::vector<int32_t>> random_sequences(const llama::LlamaConfig& c, size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(c.vocab_size) - 1);
  std::uniform_int_distribution<int64_t> len(1, c.max_position_embeddings);
  std::vector<std::vector<int32_t>> out(count);
  for (size_t i = 0; i < count; ++i) {
    const int64_t n = i == 0 ? 1 : i == 1 ? c.max_position_embeddings : len(rng);
    for (int64_t j = 0; j < n; ++j) out[i].push_back(tok(rng));
  }
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

// max |gpu - cpu| / max |cpu| <= tol, every score finite (the scorer poisons its outputs with NaN).
void check_close(const std::vector<float>& gpu, const std::vector<float>& cpu, double tol = 1e-4) {
  REQUIRE(gpu.size() == cpu.size());
  double err = 0, scale = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    INFO("score " << i << ": gpu " << gpu[i] << " cpu " << cpu[i]);
    REQUIRE(std::isfinite(gpu[i]));
    err = std::max(err, std::abs(double(gpu[i]) - double(cpu[i])));
    scale = std::max(scale, std::abs(double(cpu[i])));
  }
  INFO("max abs error " << err << ", max abs score " << scale);
  REQUIRE(scale > 0.1);  // the head makes O(1) scores: a relative check means something
  CHECK(err / scale <= tol);
}

}  // namespace

TEST_CASE("GPU head scores equal the CPU's: LoRA reward adapter + head, odd sizes, chunks with a tail", "[gpu]") {
  require_device();
  const auto base_ptr = std::make_shared<const llama::Model<float>>(llama::Model<float>::random(odd_config(), 11));
  const llama::Model<float>& base = *base_ptr;
  const auto lora = random_adapter(base.config, 4, llama::all_lora_modules(), 7);
  const auto head = llama::ScalarHead<float>::random(base.config.hidden_size, 3, 0.5);
  const auto seqs = random_sequences(base.config, 37, 5);

  const auto g = llama::make_head_scorer(on_gpu(), base_ptr);
  for (int64_t max_seqs : {8, 37, 1}) {
    INFO("max_seqs " << max_seqs);
    const std::vector<float> cpu = llama::score_head(base, lora.get(), head, seqs, max_seqs);
    check_close(g->score(lora, head, seqs, max_seqs), cpu);
  }
  CHECK(g->adapter_uploads() == 1);  // one adapter, uploaded once
  // The adapter matters: the base alone scores differently (so the comparison above saw it).
  const std::vector<float> plain = llama::score_head(base, nullptr, head, seqs, 8);
  const std::vector<float> with = llama::score_head(base, lora.get(), head, seqs, 8);
  double diff = 0;
  for (size_t i = 0; i < plain.size(); ++i) diff = std::max(diff, std::abs(double(plain[i]) - with[i]));
  CHECK(diff > 1e-2);
  CHECK(g->score(lora, head, {}, 8).empty());
}

TEST_CASE("GPU head scorer: the resident adapter is reused, and swapped adapters and the base alone match the CPU", "[gpu]") {
  require_device();
  const auto base_ptr = std::make_shared<const llama::Model<float>>(llama::Model<float>::random(odd_config(), 12));
  const llama::Model<float>& base = *base_ptr;
  const auto a = random_adapter(base.config, 4, llama::all_lora_modules(), 21);
  const auto b = random_adapter(base.config, 2, {llama::LoraModule::Q, llama::LoraModule::V, llama::LoraModule::Down}, 22);
  const auto head_a = llama::ScalarHead<float>::random(base.config.hidden_size, 4, 0.5);
  const auto head_b = llama::ScalarHead<float>::random(base.config.hidden_size, 5, 0.5);
  const auto seqs = random_sequences(base.config, 13, 6);

  const auto g = llama::make_head_scorer(on_gpu(), base_ptr);
  check_close(g->score(a, head_a, seqs, 5), llama::score_head(base, a.get(), head_a, seqs, 5));
  check_close(g->score(a, head_b, seqs, 5), llama::score_head(base, a.get(), head_b, seqs, 5));
  CHECK(g->adapter_uploads() == 1);  // another head alone uploads no adapter
  check_close(g->score(b, head_b, seqs, 5), llama::score_head(base, b.get(), head_b, seqs, 5));
  CHECK(g->adapter_uploads() == 2);
  check_close(g->score(nullptr, head_a, seqs, 5), llama::score_head(base, nullptr, head_a, seqs, 5));
  CHECK(g->adapter_uploads() == 3);
  check_close(g->score(a, head_a, seqs, 5), llama::score_head(base, a.get(), head_a, seqs, 5));
  CHECK(g->adapter_uploads() == 4);
  // A copy of an adapter is another object: uploaded again, same scores.
  const auto a_copy = std::make_shared<const Adapter>(*a);
  check_close(g->score(a_copy, head_a, seqs, 5), llama::score_head(base, a.get(), head_a, seqs, 5));
  CHECK(g->adapter_uploads() == 5);
}

TEST_CASE("GPU head scorer: bad input is refused before anything runs, and the scorer still works after", "[gpu]") {
  require_device();
  const auto base_ptr = std::make_shared<const llama::Model<float>>(llama::Model<float>::random(odd_config(), 13));
  const llama::Model<float>& base = *base_ptr;
  const auto lora = random_adapter(base.config, 4, llama::all_lora_modules(), 8);
  const auto head = llama::ScalarHead<float>::random(base.config.hidden_size, 3, 0.5);
  const auto seqs = random_sequences(base.config, 6, 9);
  const auto g = llama::make_head_scorer(on_gpu(), base_ptr);

  const auto wide = llama::ScalarHead<float>::random(base.config.hidden_size + 1, 3, 0.5);
  CHECK_THROWS_WITH(g->score(lora, wide, seqs), Catch::Contains("reward head has 49 weights for hidden size 48"));
  auto with_empty = seqs;
  with_empty.push_back({});
  CHECK_THROWS_AS(g->score(lora, head, with_empty), std::invalid_argument);
  auto with_bad_token = seqs;
  with_bad_token[2][0] = 101;
  CHECK_THROWS_WITH(g->score(lora, head, with_bad_token), Catch::Contains("outside the vocabulary"));
  auto too_long = seqs;
  too_long[3].assign(97, 1);
  CHECK_THROWS_WITH(g->score(lora, head, too_long), Catch::Contains("max_position_embeddings"));
  llama::LlamaConfig other = base.config;
  other.hidden_size = 64;
  other.num_attention_heads = 4;
  const auto foreign = random_adapter(other, 4, llama::all_lora_modules(), 9);
  CHECK_THROWS_AS(g->score(foreign, head, seqs), std::invalid_argument);

  check_close(g->score(lora, head, seqs), llama::score_head(base, lora.get(), head, seqs));
}

TEST_CASE("GPU head scorer: a chunk the device has no memory for throws, and the next calls score right", "[gpu]") {
  require_device();
  // One chunk of more rows than the device can hold activations for: GpuLlama keeps over 4 KB per
  // row at these sizes (every layer's inputs, norms, q/k/v, attention, MLP and LoRA products, and
  // the backward scratch), so total memory / 4 KB rows cannot fit, while the model does. (Scoring
  // allocates no logits: forward_hidden.) The failure must not leave half-grown buffers or a
  // stale CUDA error behind: the next, larger-than-before chunk must score as the CPU does.
  size_t free_b = 0, total_b = 0;
  REQUIRE(cudaMemGetInfo(&free_b, &total_b) == cudaSuccess);
  llama::LlamaConfig c = odd_config();
  c.max_position_embeddings = 1250;
  const auto base_ptr = std::make_shared<const llama::Model<float>>(llama::Model<float>::random(c, 14));
  const llama::Model<float>& base = *base_ptr;
  const auto lora = random_adapter(base.config, 4, llama::all_lora_modules(), 10);
  const auto head = llama::ScalarHead<float>::random(base.config.hidden_size, 3, 0.5);
  const auto g = llama::make_head_scorer(on_gpu(), base_ptr);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(c.vocab_size) - 1);
  auto seqs_of = [&](size_t count, size_t len) {
    std::vector<std::vector<int32_t>> out(count);
    for (auto& s : out)
      for (size_t j = 0; j < len; ++j) s.push_back(tok(rng));
    return out;
  };
  const auto small = seqs_of(2, 5);   // n = 10: the activations' first size
  const auto huge = seqs_of(total_b / 4096 / 1250 + 1, 1250);
  const auto medium = seqs_of(6, 40);  // n = 240: more rows than the first call
  check_close(g->score(lora, head, small, 32), llama::score_head(base, lora.get(), head, small, 32));
  CHECK_THROWS_AS(g->score(lora, head, huge, int64_t(huge.size())), cuda::CudaError);
  check_close(g->score(lora, head, medium, 32), llama::score_head(base, lora.get(), head, medium, 32));
  check_close(g->score(nullptr, head, small, 32), llama::score_head(base, nullptr, head, small, 32));
}
