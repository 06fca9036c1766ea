// Integration: pretrain then LoRA SFT through the real daemon and plugin. Held-out loss falls in
// both; the base stays bit-identical; the saved PEFT adapter reloads and gives exactly the
// logits of the adapter the trainer held (its final checkpoint); eval grades base and adapter.
#include <catch2/catch.hpp>

#include "sft_fixture.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/checkpoint.h"
#include "wb/llama/forward.h"
#include "wb/llama/model_io.h"
#include "wb/llama/tokenizer.h"

using namespace sfttest;
namespace fs = std::filesystem;
namespace ll = wb::llama;

namespace {

std::vector<float> logits_of(const ll::Model<float>& m, const std::vector<int32_t>& ids) {
  ll::Workspace<float> ws;
  ll::forward(m, ll::Batch::pack({ids}), ws, ll::ForwardOptions{});
  return ws.logits;
}

}  // namespace

TEST_CASE("pretrain then LoRA SFT through the daemon: held-out loss falls, adapter reloads exactly", "[sft][integration]") {
  SftDaemon d;
  d.import_text("text", 0.1);
  d.import_sft("chat", "sft_train.jsonl");
  d.import_sft("chat-eval", "sft_eval.jsonl");
  d.init_tiny("base");

  const json common = {{"batch_size", 4}, {"context_length", 128}, {"lr", 3e-3}, {"warmup", 4}, {"seed", 3}};
  json pre_spec = common;
  pre_spec.update({{"model", "base"}, {"dataset", "text"}, {"output", "pre"}, {"max_steps", 40}, {"eval_every", 20}});
  json pre = d.run_job("pretrain", pre_spec);
  auto pre_eval = d.metric(pre["id"], "eval_loss");
  REQUIRE(pre_eval.size() >= 2);
  CHECK(pre_eval.front().first == 0);
  CHECK(pre_eval.back().second < pre_eval.front().second - 0.5);
  CHECK(d.metric(pre["id"], "train_loss").size() == 40);
  CHECK(d.metric(pre["id"], "tokens_per_s").size() == 40);
  CHECK(d.metric(pre["id"], "lr").size() == 40);

  auto model = d.d.get("/v1/models/pre");
  REQUIRE(model.status == 200);
  const fs::path pre_dir = model.body["path"].get<std::string>();
  CHECK(fs::exists(pre_dir / "tokenizer.model"));
  const std::string pre_bytes = dir_bytes(pre_dir);

  json sft_spec = common;
  sft_spec.update({{"model", "pre"}, {"dataset", "chat"}, {"eval_dataset", "chat-eval"}, {"output", "lora1"},
                   {"method", "lora"}, {"rank", 8}, {"alpha", 16}, {"max_steps", 80}, {"lr", 1e-2}});
  json sft = d.run_job("sft", sft_spec);
  auto sft_eval = d.metric(sft["id"], "eval_loss");
  REQUIRE(sft_eval.size() >= 2);
  CHECK(sft_eval.back().second < sft_eval.front().second - 0.3);

  // LoRA trained only A/B: the base model directory is byte-for-byte what it was.
  CHECK(dir_bytes(pre_dir) == pre_bytes);

  auto adapters = d.d.get("/v1/adapters");
  REQUIRE(adapters.status == 200);
  json rec;
  for (auto& a : adapters.body["adapters"])
    if (a["name"] == "lora1") rec = a;
  REQUIRE(rec.is_object());
  CHECK(rec["base_model"] == "pre");
  CHECK(rec["rank"] == 8);
  CHECK(rec["kind"] == "policy");
  CHECK(rec["target_modules"].size() == 7);

  // The adapter on disk == the adapter in the trainer's final checkpoint, so logits match exactly.
  auto m = ll::load_model<float>(pre_dir);
  auto loaded = ll::load_adapter(rec["path"].get<std::string>(), m.config);
  REQUIRE(sft["checkpoint"].is_string());
  const ll::Checkpoint ck = ll::load_checkpoint(sft["checkpoint"].get<std::string>());
  auto held = ll::LoraAdapter<float>::zeros(m.config, loaded.config);
  size_t filled = 0;
  held.for_each([&](const std::string& key, ll::Tensor<float>& t) {
    for (const auto& w : ck.weights)
      if (w.name == key) {
        REQUIRE(w.data.size() == t.data.size());
        t.data = w.data;
        ++filled;
      }
  });
  CHECK(filled == static_cast<size_t>(2 * 7 * m.config.num_hidden_layers));
  const ll::Tokenizer tok(pre_dir / "tokenizer.model");
  const auto ids = tok.encode("[INST] What is 3 + 4? [/INST]", true);
  auto with_loaded = m;
  with_loaded.lora = loaded;
  auto with_held = m;
  with_held.lora = held;
  const auto a = logits_of(with_loaded, ids), b = logits_of(with_held, ids), base = logits_of(m, ids);
  CHECK(a == b);
  CHECK(a != base);  // the adapter changes the output

  // Eval: base vs adapter on held-out prompts, graded by the suite checker.
  json ev = d.run_job("eval", {{"model", "pre"}, {"adapter", "lora1"}, {"dataset", "chat-eval"}, {"limit", 24}, {"max_tokens", 12}});
  auto acc = d.metric(ev["id"], "accuracy");
  auto fmt = d.metric(ev["id"], "format_adherence");
  auto n = d.metric(ev["id"], "n");
  REQUIRE(acc.size() == 1);
  REQUIRE(fmt.size() == 1);
  REQUIRE(n.size() == 1);
  CHECK(n[0].second == 24);
  CHECK(acc[0].second >= 0.0);
  CHECK(acc[0].second <= 1.0);
  // The SFT adapter has learned the "Answer: ..." format on held-out prompts.
  CHECK(fmt[0].second > 0.5);
  json ev_base = d.run_job("eval", {{"model", "pre"}, {"suite_dir", d.suite_dir().string()}, {"limit", 24}, {"max_tokens", 12}});
  auto fmt_base = d.metric(ev_base["id"], "format_adherence");
  REQUIRE(fmt_base.size() == 1);
  CHECK(fmt_base[0].second < fmt[0].second);
}
