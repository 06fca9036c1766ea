// The engine's device-neutral interfaces on the CPU side (a DeviceChoice of cpu): the train loop
// is the CPU Trainer, the greedy completer answers as generate(), the head scorer as score_head,
// the decode backend as llama::Decoder. Their GPU sides are compared with these in tests/gpu.
#include <catch2/catch.hpp>

#include <cmath>
#include <memory>
#include <vector>

#include "wb/llama/decode.h"
#include "wb/llama/decode_backend.h"
#include "wb/llama/generate.h"
#include "wb/llama/greedy.h"
#include "wb/llama/head_scorer.h"
#include "wb/llama/train_loop.h"

using namespace wb::llama;

namespace {

LlamaConfig tiny() {
  LlamaConfig c;
  c.hidden_size = 32;
  c.intermediate_size = 64;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = 61;
  c.max_position_embeddings = 48;
  return c;
}

const DeviceChoice kCpu{};  // cuda = false

}  // namespace

TEST_CASE("the cpu greedy completer answers as generate(), with and without an adapter", "[device]") {
  const Model<float> m = Model<float>::random(tiny(), 3);
  LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 8;
  LoraAdapter<float> a = LoraAdapter<float>::init(m.config, lc, 5);
  a.for_each([](const std::string& key, Tensor<float>& t) {
    if (key.find("lora_B") != std::string::npos)
      for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = 0.01f * static_cast<float>(i % 7);
  });
  const std::vector<std::vector<int32_t>> prompts = {{1, 5, 9}, {1, 7}, {1, 2, 3, 4, 5}};
  const std::vector<int64_t> max_tokens = {6, 3, 1};
  const std::vector<const LoraAdapter<float>*> adapters = {nullptr, &a};
  for (const LoraAdapter<float>* adapter : adapters) {
    const auto g = make_greedy_completer(kCpu, m, adapter);
    const auto out = g->complete(prompts, max_tokens);
    REQUIRE(out.size() == prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      GenerateRequest r;
      r.prompt = prompts[i];
      r.max_tokens = max_tokens[i];
      r.adapter = adapter;
      r.sampling.temperature = 0;
      CHECK(out[i] == generate(m, {r})[0].tokens);
      CHECK(static_cast<int64_t>(out[i].size()) <= max_tokens[i]);
    }
  }
  CHECK_THROWS_AS(make_greedy_completer(kCpu, m, nullptr)->complete(prompts, {1}), std::invalid_argument);
}

TEST_CASE("the cpu head scorer is score_head and uploads nothing", "[device]") {
  auto base = std::make_shared<const Model<float>>(Model<float>::random(tiny(), 4));
  const ScalarHead<float> head = ScalarHead<float>::random(base->config.hidden_size, 6, 0.5);
  const std::vector<std::vector<int32_t>> seqs = {{1, 4, 8, 2}, {1}, {1, 9, 9, 9, 9, 9, 2}};
  const auto s = make_head_scorer(kCpu, base);
  const std::vector<float> got = s->score(nullptr, head, seqs, 2);
  CHECK(got == score_head(*base, nullptr, head, seqs, 2));
  CHECK(s->adapter_uploads() == 0);
  const ScalarHead<float> narrow = ScalarHead<float>::random(8, 6);
  CHECK_THROWS_AS(s->score(nullptr, narrow, seqs), std::invalid_argument);
  CHECK_THROWS_AS(make_head_scorer(kCpu, nullptr), std::invalid_argument);
}

TEST_CASE("the cpu decode backend runs llama::Decoder's passes", "[device]") {
  const Model<float> m = Model<float>::random(tiny(), 7);
  const auto b = make_decode_backend(kCpu, m, DecodeBackendOptions{});
  CHECK(b->device() == "cpu");
  CHECK(b->device_name() == "cpu");
  CHECK_FALSE(b->one_pass());
  CHECK_FALSE(b->adapter_upload());
  // A lone prompt pass is the Decoder's pass, bit for bit.
  auto s1 = b->open(16, AdapterRef{}, 1.0f);
  std::vector<float> logits;
  BackendSequence* one[] = {s1.get()};
  b->forward(one, {{1, 5, 9}}, logits, /*decode=*/false);
  Decoder<float> d(m);
  DecodeSequence<float> r(m.config, 16);
  std::vector<float> ref;
  DecodeSequence<float>* ref_one[] = {&r};
  d.forward(ref_one, {{1, 5, 9}}, ref);
  CHECK(logits == ref);
  // A decode pass over two sequences appends to each.
  auto s2 = b->open(16, AdapterRef{}, 1.0f);
  BackendSequence* both[] = {s1.get(), s2.get()};
  b->forward(both, {{4}, {1, 7}}, logits, /*decode=*/true);
  CHECK(s1->length() == 4);
  CHECK(s2->length() == 2);
  CHECK(s1->max_tokens() == 16);
  CHECK(logits.size() == static_cast<size_t>(2 * m.config.vocab_size));
}

TEST_CASE("a forked cpu sequence continues exactly as the sequence it copies", "[device]") {
  const Model<float> m = Model<float>::random(tiny(), 7);
  const auto b = make_decode_backend(kCpu, m, DecodeBackendOptions{});
  auto a = b->open(16, AdapterRef{}, 1.0f);
  std::vector<float> logits;
  BackendSequence* one[] = {a.get()};
  b->forward(one, {{1, 5, 9}}, logits, /*decode=*/false);
  auto f = b->fork(*a);  // the prompt's cache, copied
  CHECK(f->length() == 3);
  CHECK(f->max_tokens() == 16);
  // The same next token on both gives the same logits; the fork then moves on by itself.
  std::vector<float> la, lf;
  BackendSequence* sa[] = {a.get()};
  BackendSequence* sf[] = {f.get()};
  b->forward(sa, {{4}}, la, /*decode=*/true);
  b->forward(sf, {{4}}, lf, /*decode=*/true);
  CHECK(la == lf);
  b->forward(sf, {{7}}, lf, /*decode=*/true);
  CHECK(f->length() == 5);
  CHECK(a->length() == 4);
}

TEST_CASE("the cpu train loop steps the CPU Trainer and evaluates the token loss", "[device]") {
  Model<float> m = Model<float>::random(tiny(), 8);
  m.trainable = {.full = true};
  TrainBatch tb;
  tb.batch = Batch::pack({{1, 5, 9, 13, 2}});
  tb.targets = {5, 9, 13, 2, -1};
  tb.mask = {1, 1, 1, 1, 0};
  InMemoryDataSource data({tb});
  TrainerConfig tc;
  tc.total_steps = 3;
  tc.schedule.lr = 5e-3;
  const auto loop = make_train_loop(kCpu, m, data, tc, /*loss_every=*/10);
  const double before = loop->eval_loss({tb}, 0);
  CHECK(std::isfinite(before));
  while (!loop->finished()) {
    const LoopStep s = loop->step();
    CHECK(s.loss_read);  // the CPU reads every step
  }
  CHECK(loop->steps_done() == 3);
  loop->sync_model();
  CHECK(loop->eval_loss({tb}, 1) < before);
}
