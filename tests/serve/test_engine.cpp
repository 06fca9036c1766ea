// The serving engine (plugins/serve, linked directly): determinism alone vs batched with other
// adapters, base+adapter vs the merged model, adapter load errors, hot reload and unload with
// reference counting, the queue bound, cancellation.
#include <catch2/catch.hpp>

#include <cstring>
#include <memory>

#include "engine.h"
#include "wb/plugin/error.h"
#include "wb/plugin/guard.h"
#include "serve_fixture.h"
#include "wb/llama/decode.h"
#include "wb/llama/greedy.h"
#include "wb/llama/model_io.h"
#include "wb/llama/merge.h"

using namespace servetest;
using wb::serve::Engine;
using wb::serve::ModelOptions;
using wb::plugin::PluginError;

namespace {

// invariant: batch_invariant (the engine's default is false).
std::unique_ptr<Engine> make_engine(const fs::path& model, int64_t max_batch = 8, int64_t max_queue = 64,
                                    bool invariant = false, int64_t max_rank = 16) {
  json o = {{"name", "tiny"}, {"path", model.string()}, {"max_batch", max_batch}, {"max_queue", max_queue},
            {"max_adapters", 12},  {"max_rank", max_rank}, {"prefill_chunk", 8}, {"prefill_budget", 16}};
  if (invariant) o["batch_invariant"] = true;
  return std::make_unique<Engine>(ModelOptions::from_json(o));
}

uint64_t submit(Engine& e, Collector& c, json req) {
  return e.submit(req, [&c](const std::string& ev) { return c.on_event(ev); });
}

// The status f's exception crosses the C ABI with (the kit's guard).
wb_status status_of(const std::function<void()>& f) {
  wb_error err{};
  return wb::plugin::guarded(&err, [&] {
    f();
    return WB_OK;
  });
}

}  // namespace

TEST_CASE("with batch_invariant a seeded request gives the same tokens alone and batched with 7 others") {
  Setup s{"wb-serve"};
  auto e = make_engine(s.model_dir, 8, 64, /*invariant=*/true);
  REQUIRE(e->stats()["batch_invariant"] == true);
  for (int i = 0; i < 8; ++i)
    e->registry().load("a" + std::to_string(i), write_adapter(s.dir / ("a" + std::to_string(i)), s.config, 100 + i), 1.0);
  const json req = {{"prompt", prompt(21, 5)}, {"adapter", "a0"}, {"temperature", 0.9}, {"top_k", 40},
                    {"seed", 1234}, {"max_tokens", 24}, {"ignore_eos", true}};
  Collector alone;
  submit(*e, alone, req);
  REQUIRE(alone.wait()["finish_reason"] == "length");
  REQUIRE(alone.tokens.size() == 24);

  // The same request amid 7 others: different adapters, prompt lengths, sampling and scales,
  // so its rows share every base GEMM with theirs and sit at another batch position.
  std::vector<std::unique_ptr<Collector>> others;
  for (int i = 1; i < 8; ++i) {
    others.push_back(std::make_unique<Collector>());
    submit(*e, *others.back(),
           {{"prompt", prompt(5 + 3 * i, i)}, {"adapter", "a" + std::to_string(i)}, {"temperature", 0.7},
            {"seed", i}, {"max_tokens", 20 + i}, {"ignore_eos", true}, {"adapter_scale", 0.5 * i}});
    if (i == 3) {  // in the middle of the batch, arriving while others already decode
      Collector batched;
      submit(*e, batched, req);
      REQUIRE(batched.wait()["finish_reason"] == "length");
      CHECK(batched.tokens == alone.tokens);
      CHECK(batched.logprobs == alone.logprobs);  // exact: the logits were bit-identical
    }
  }
  for (auto& c : others) CHECK(c->wait()["finish_reason"] == "length");
  // The batch really was shared: more rows than steps.
  const json m = e->stats()["metrics"];
  CHECK(m["step_rows_total"].get<int64_t>() > m["steps_total"].get<int64_t>());
}

TEST_CASE("a request asking for batch_invariant gets the same tokens alone and batched on an engine without it") {
  Setup s{"wb-serve"};
  auto e = make_engine(s.model_dir, 8, 64);  // the served model's batch_invariant: off (the default)
  REQUIRE(e->stats()["batch_invariant"] == false);
  for (int i = 0; i < 8; ++i)
    e->registry().load("a" + std::to_string(i), write_adapter(s.dir / ("a" + std::to_string(i)), s.config, 100 + i), 1.0);
  const json req = {{"prompt", prompt(21, 5)}, {"adapter", "a0"}, {"temperature", 0.9}, {"top_k", 40},
                    {"seed", 1234}, {"max_tokens", 24}, {"ignore_eos", true}, {"batch_invariant", true}};
  Collector alone;
  submit(*e, alone, req);
  REQUIRE(alone.wait()["finish_reason"] == "length");
  REQUIRE(alone.tokens.size() == 24);

  // The same request amid 7 others that do not ask for invariance (different adapters, prompt
  // lengths, sampling and scales): its rows share every base product with theirs.
  std::vector<std::unique_ptr<Collector>> others;
  for (int i = 1; i < 8; ++i) {
    others.push_back(std::make_unique<Collector>());
    submit(*e, *others.back(),
           {{"prompt", prompt(5 + 3 * i, i)}, {"adapter", "a" + std::to_string(i)}, {"temperature", 0.7},
            {"seed", i}, {"max_tokens", 20 + i}, {"ignore_eos", true}, {"adapter_scale", 0.5 * i}});
    if (i == 3) {
      Collector batched;
      submit(*e, batched, req);
      REQUIRE(batched.wait()["finish_reason"] == "length");
      CHECK(batched.tokens == alone.tokens);
      CHECK(batched.logprobs == alone.logprobs);  // exact: the logits were bit-identical
    }
  }
  for (auto& c : others) CHECK(c->wait()["finish_reason"] == "length");
  const json m = e->stats()["metrics"];
  CHECK(m["step_rows_total"].get<int64_t>() > m["steps_total"].get<int64_t>());
  // A field of the wrong type is refused naming it, and nothing is queued.
  CHECK(status_of([&] {
          Collector bad;
          json r = req;
          r["batch_invariant"] = "yes";
          submit(*e, bad, r);
        }) == WB_INVALID);
}

TEST_CASE("without batch_invariant (the default) concurrent greedy requests get the CPU reference tokens") {
  Setup s{"wb-serve"};
  auto e = make_engine(s.model_dir);  // batch_invariant not named: off
  REQUIRE(e->stats()["batch_invariant"] == false);
  const wb::llama::Model<float> model = wb::llama::load_model<float>(s.model_dir);
  // Eight prompts of 3..31 tokens (up to 4 prefill chunks), all submitted at once so their decode
  // rows share steps in batches of every size from 8 down to 1 as they finish. The reference is
  // generate() (one sequence, its own GEMM shapes): equal tokens, as the engine promises for greedy
  // decoding up to float rounding on a model whose logits are not near ties.
  std::vector<std::vector<int32_t>> prompts;
  std::vector<int64_t> lengths;
  for (int i = 0; i < 8; ++i) {
    prompts.push_back(prompt(3 + 4 * i, 50 + i));
    lengths.push_back(10 + 3 * i);
  }
  const auto want = wb::llama::make_greedy_completer(wb::llama::DeviceChoice{}, model, nullptr)->complete(prompts, lengths);
  std::vector<std::unique_ptr<Collector>> cs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    cs.push_back(std::make_unique<Collector>());
    submit(*e, *cs.back(), {{"prompt", prompts[i]}, {"temperature", 0}, {"max_tokens", lengths[i]}});
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    INFO("request " << i);
    cs[i]->wait();  // "length", or "eos" where the reference stops at EOS too
    CHECK(cs[i]->tokens == want[i]);
  }
  const json m = e->stats()["metrics"];
  CHECK(m["step_rows_total"].get<int64_t>() > m["steps_total"].get<int64_t>());
}

TEST_CASE("in batch-invariant modes a sequence's logits are bit-identical whatever shares the step") {
  Setup s{"wb-serve"};
  const auto model = wb::llama::load_model<float>(s.model_dir);
  std::vector<wb::llama::LoraAdapter<float>> adapters;
  for (int i = 0; i < 8; ++i) adapters.push_back(random_adapter(s.config, 300 + i));
  enum Mode { kBlas, kTiles, kRows };
  auto run = [&](Mode mode, int batch) {
    wb::llama::Decoder<float> dec(model);
    std::vector<std::unique_ptr<wb::llama::DecodeSequence<float>>> seqs;
    std::vector<wb::llama::DecodeSequence<float>*> ptrs;
    std::vector<std::vector<int32_t>> feed;
    std::vector<float> logits;
    for (int i = 0; i < batch; ++i) {
      seqs.push_back(std::make_unique<wb::llama::DecodeSequence<float>>(s.config));
      seqs.back()->adapter = &adapters[i];
      std::vector<float> last;
      dec.prefill(*seqs.back(), prompt(9 + i, i), last, 8);
      ptrs.push_back(seqs.back().get());
      feed.push_back({static_cast<int32_t>(40 + i)});
    }
    dec.set_row_tile(mode == kTiles ? 8 : 0);
    dec.set_row_invariant(mode == kRows);
    dec.forward(std::span<wb::llama::DecodeSequence<float>* const>(ptrs.data(), ptrs.size()), feed, logits);
    return std::vector<float>(logits.begin(), logits.begin() + s.config.vocab_size);  // sequence 0's row
  };
  auto same = [](const std::vector<float>& a, const std::vector<float>& b) {
    return std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
  };
  for (Mode mode : {kTiles, kRows})
    for (int batch : {2, 3, 5, 8}) CHECK(same(run(mode, 1), run(mode, batch)));
  // The row kernel computes the same function: close to BLAS, to float rounding.
  const auto rows = run(kRows, 1), blas = run(kBlas, 1);
  for (size_t i = 0; i < rows.size(); ++i) CHECK(rows[i] == Approx(blas[i]).margin(1e-4));
  // Plain BLAS may round one row differently from eight (gemv vs gemm): say so if it does.
  if (!same(run(kBlas, 1), run(kBlas, 8))) WARN("plain BLAS: batch-dependent rounding observed (why serving avoids it)");
}

TEST_CASE("greedy output of base + adapter equals greedy output of the merged model") {
  Setup s{"wb-serve"};
  const fs::path adapter = write_adapter(s.dir / "lora", s.config, 77, 8);
  const fs::path merged = s.dir / "merged";
  wb::llama::merge_adapter_to_directory(s.model_dir, adapter, merged);
  auto base = make_engine(s.model_dir);
  base->registry().load("lora", adapter, 1.0);
  auto m = make_engine(merged);
  for (int p = 0; p < 3; ++p) {
    const json req = {{"prompt", prompt(6 + 5 * p, 20 * p)}, {"temperature", 0}, {"max_tokens", 32}, {"ignore_eos", true}};
    json with_adapter = req;
    with_adapter["model"] = "lora";
    Collector a, b, plain;
    submit(*base, a, with_adapter);
    submit(*m, b, req);
    submit(*base, plain, req);
    REQUIRE(a.wait()["finish_reason"] == "length");
    REQUIRE(b.wait()["finish_reason"] == "length");
    plain.wait();
    CHECK(a.tokens == b.tokens);
    CHECK(a.tokens.size() == 32);
    CHECK(a.tokens != plain.tokens);  // the adapter changes the output: the comparison means something
  }
}

TEST_CASE("adapter_scale 0 serves the base model, scale 1 the adapter") {
  Setup s{"wb-serve"};
  auto e = make_engine(s.model_dir);
  e->registry().load("a", write_adapter(s.dir / "a", s.config, 5), 1.0);
  const json req = {{"prompt", prompt(10, 3)}, {"temperature", 0}, {"max_tokens", 16}, {"ignore_eos", true}};
  Collector base, zero, full;
  submit(*e, base, req);
  json z = req, f = req;
  z["adapter"] = "a";
  z["adapter_scale"] = 0.0;
  f["adapter"] = "a";
  submit(*e, zero, z);
  submit(*e, full, f);
  base.wait(), zero.wait(), full.wait();
  CHECK(zero.tokens == base.tokens);
  CHECK(full.tokens != base.tokens);
}

TEST_CASE("a bad adapter load is refused with a clear error and replaces nothing") {
  Setup s{"wb-serve"};
  auto e = make_engine(s.model_dir, 8, 64, true, /*max_rank=*/8);
  auto& reg = e->registry();
  const auto v1 = reg.load("a", write_adapter(s.dir / "a", s.config, 1), 1.0);
  const int64_t bytes = reg.bytes();

  auto expect = [&](wb_status want, const std::function<void()>& f, const std::string& words) {
    try {
      f();
      FAIL("no error");
    } catch (const PluginError& err) {
      CHECK(err.status() == want);
      CHECK_THAT(err.what(), Catch::Contains(words));
    }
    CHECK(reg.find("a") == v1);
    CHECK(reg.bytes() == bytes);
  };
  expect(WB_NOT_FOUND, [&] { reg.load("a", s.dir / "missing", 1.0); }, "missing");
  auto other = tiny_config();
  other.hidden_size = 32;
  other.intermediate_size = 80;
  expect(WB_INVALID, [&] { reg.load("a", write_adapter(s.dir / "wrong", other, 2), 1.0); }, "adapter 'a'");
  expect(WB_INVALID, [&] { reg.load("a", write_adapter(s.dir / "big", s.config, 3, 16), 1.0); }, "rank 16 exceeds");
  fs::create_directories(s.dir / "empty");
  expect(WB_INVALID, [&] { reg.load("a", s.dir / "empty", 1.0); }, "adapter_config.json");
  expect(WB_INVALID, [&] { reg.load("a", s.dir / "a", std::nan("")); }, "scale");
  CHECK(status_of([&] { reg.unload("nope"); }) == WB_NOT_FOUND);
}

TEST_CASE("reloading an adapter affects new requests only, a running request keeps its version") {
  Setup s{"wb-serve"};
  auto e = make_engine(s.model_dir);
  const fs::path v1_dir = write_adapter(s.dir / "v1", s.config, 1), v2_dir = write_adapter(s.dir / "v2", s.config, 2);
  const json req = {{"prompt", prompt(12, 9)}, {"model", "a"}, {"temperature", 0}, {"max_tokens", 20}, {"ignore_eos", true}};
  // Reference outputs of each version alone.
  std::vector<int32_t> ref1, ref2;
  for (auto [dir, out] : {std::pair{v1_dir, &ref1}, std::pair{v2_dir, &ref2}}) {
    e->registry().load("a", dir, 1.0);
    Collector c;
    submit(*e, c, req);
    c.wait();
    *out = c.tokens;
  }
  REQUIRE(ref1 != ref2);

  const uint64_t v1 = e->registry().load("a", v1_dir, 1.0)->version;
  Gate gate;
  Collector running;
  e->submit(req, [&](const std::string& ev) {
    if (running.events == 3) gate.wait_open();  // hold the decode thread mid-request
    return running.on_event(ev);
  });
  gate.wait_arrived();
  const uint64_t v2 = e->registry().load("a", v2_dir, 1.0)->version;  // while v1 is mid-request
  Collector fresh;
  submit(*e, fresh, req);
  // The old version is retired but alive: one request holds it.
  bool retired_seen = false;
  for (const auto& a : e->registry().list())
    if (a.version == v1) retired_seen = !a.resident && a.refs == 1;
  CHECK(retired_seen);
  gate.open();
  CHECK(running.wait()["adapter_version"] == v1);
  CHECK(fresh.wait()["adapter_version"] == v2);
  CHECK(running.tokens == ref1);
  CHECK(fresh.tokens == ref2);
}

TEST_CASE("unload refuses new requests at once and frees memory after the last request ends") {
  Setup s{"wb-serve"};
  auto e = make_engine(s.model_dir);
  auto& reg = e->registry();
  reg.load("a", write_adapter(s.dir / "a", s.config, 1), 1.0);
  const int64_t before = reg.bytes();
  reg.load("b", write_adapter(s.dir / "b", s.config, 2, 8), 1.0);
  const int64_t with_b = reg.bytes();
  REQUIRE(with_b > before);

  Gate gate;
  Collector c;
  e->submit({{"prompt", prompt(8, 1)}, {"model", "b"}, {"max_tokens", 10}, {"ignore_eos", true}, {"seed", 3}},
            [&](const std::string& ev) {
              if (c.events == 1) gate.wait_open();
              return c.on_event(ev);
            });
  gate.wait_arrived();
  reg.unload("b");
  CHECK(status_of([&] { e->submit({{"prompt", prompt(4, 1)}, {"model", "b"}}, [](const std::string&) { return true; }); }) ==
        WB_NOT_FOUND);
  CHECK(reg.bytes() == with_b);  // the running request still holds b
  gate.open();
  CHECK(c.wait()["finish_reason"] == "length");
  CHECK(c.tokens.size() == 10);
  wait_bytes(reg, before);
  CHECK(reg.bytes() == before);
  CHECK(e->stats()["adapters"].size() == 1);
}

TEST_CASE("a full queue answers WB_BUSY, cancel ends queued and running requests") {
  Setup s{"wb-serve"};
  auto e = make_engine(s.model_dir, /*max_batch=*/1, /*max_queue=*/2);
  Gate gate;
  Collector first;
  const json long_req = {{"prompt", prompt(6, 2)}, {"max_tokens", 200}, {"ignore_eos", true}};
  const uint64_t id1 = e->submit(long_req, [&](const std::string& ev) {
    if (first.events == 0) gate.wait_open();
    return first.on_event(ev);
  });
  gate.wait_arrived();  // the decode thread is held: nothing else is admitted
  Collector q1, q2;
  const uint64_t id2 = submit(*e, q1, long_req);
  submit(*e, q2, long_req);
  CHECK(e->stats()["queued"] == 2);
  try {
    e->submit(long_req, [](const std::string&) { return true; });
    FAIL("queue overflow accepted");
  } catch (const PluginError& err) {
    CHECK(err.status() == WB_BUSY);
    CHECK_THAT(err.what(), Catch::Contains("queue is full"));
  }
  CHECK(e->cancel(id1));
  CHECK(e->cancel(id2));
  CHECK_FALSE(e->cancel(999999));
  q2.keep_going = false;  // q2 runs once the others end; its first event asks to cancel
  gate.open();
  CHECK(first.wait()["finish_reason"] == "cancelled");
  CHECK(q1.wait()["finish_reason"] == "cancelled");
  CHECK(q1.tokens.empty());
  // The callback returning false cancels too.
  CHECK(q2.wait()["finish_reason"] == "cancelled");
  CHECK(q2.tokens.size() == 1);
  CHECK(e->stats()["running"] == 0);
  CHECK(e->stats()["metrics"]["requests_rejected"] == 1);
}

TEST_CASE("requests are validated at submit") {
  Setup s{"wb-serve"};
  auto e = make_engine(s.model_dir);
  auto st = [&](json r) { return status_of([&] { e->submit(r, [](const std::string&) { return true; }); }); };
  CHECK(st({{"prompt", prompt(4, 1)}, {"bogus", 1}}) == WB_INVALID);
  CHECK(st({{"prompt", "text"}}) == WB_INVALID);  // this model has no tokenizer.model
  CHECK(st({{"prompt", {1, 2, 999}}}) == WB_INVALID);
  CHECK(st({{"prompt", prompt(300, 1)}}) == WB_INVALID);  // past the context of 256
  CHECK(st({{"prompt", prompt(4, 1)}, {"top_p", 0}}) == WB_INVALID);
  CHECK(st({{"prompt", prompt(4, 1)}, {"max_tokens", -1}}) == WB_INVALID);
  CHECK(st({{"prompt", prompt(4, 1)}, {"model", "nope"}}) == WB_NOT_FOUND);
  CHECK(st({{"prompt", prompt(4, 1)}, {"adapter", "nope"}}) == WB_NOT_FOUND);
  CHECK(st({{"prompt", prompt(4, 1)}, {"model", "tiny"}, {"adapter_scale", 2}}) == WB_INVALID);
  CHECK(st(json::array()) == WB_INVALID);
  // The context limit ends a request with "length".
  Collector c;
  submit(*e, c, {{"prompt", prompt(250, 1)}, {"max_tokens", 100}, {"ignore_eos", true}});
  CHECK(c.wait()["finish_reason"] == "length");
  CHECK(c.tokens.size() == 7);  // 256 - 250 + 1: the last token needs no cache row
  CHECK(c.done["usage"]["completion_tokens"] == 7);
  CHECK(c.done["usage"]["prompt_tokens"] == 250);
}

TEST_CASE("a half-precision PEFT adapter (as PEFT saves for fp16 models) loads and serves") {
  Setup s{"wb-serve"};
  auto e = make_engine(s.model_dir);
  const auto lora = random_adapter(s.config, 41);
  wb::llama::save_adapter(s.dir / "f16", lora, "tiny", wb::llama::DType::F16);
  wb::llama::save_adapter(s.dir / "bf16", lora, "tiny", wb::llama::DType::BF16);
  const auto a = e->registry().load("f16", s.dir / "f16", 1.0);
  e->registry().load("bf16", s.dir / "bf16", 1.0);
  CHECK(a->lora.config.r == lora.config.r);
  CHECK(a->bytes == lora.numel() * 4);  // converted to f32 once, at load
  Collector c;
  submit(*e, c, {{"prompt", prompt(8, 2)}, {"model", "bf16"}, {"max_tokens", 5}, {"ignore_eos", true}, {"seed", 2}});
  CHECK(c.wait()["adapter"] == "bf16");
  CHECK(c.tokens.size() == 5);
}
