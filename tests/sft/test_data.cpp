// Unit tests of the plugin's data path and spec parsing: SFT examples weight only assistant
// tokens, packing keeps examples as separate sequences with targets inside each, and specs are
// read strictly.
#include <catch2/catch.hpp>

#include "daemon_process.h"
#include "wb/plugin/spec.h"
#include "specs.h"
#include "train_data.h"
#include "wb/llama/sp_trainer.h"
#include "wb/suite/generator.h"

namespace fs = std::filesystem;
namespace ll = wb::llama;
using nlohmann::json;

namespace {
const ll::Tokenizer& test_tokenizer() {
  static wbtest::TempDir tmp;
  static const ll::Tokenizer tok = [] {
    wb::suite::write_files(wb::suite::generate(5, wb::suite::Sizes::small()), tmp.path());
    ll::SpTrainOptions o;
    o.vocab_size = 400;
    ll::train_sentencepiece(tmp.path() / "tokenizer_corpus.txt", tmp.path() / "t.model", o);
    return ll::Tokenizer(tmp.path() / "t.model");
  }();
  return tok;
}
}  // namespace

TEST_CASE("SFT examples weight the answer only, packing keeps examples apart", "[sft][data]") {
  const auto& tok = test_tokenizer();
  std::vector<json> rows = {
      {{"messages", {{{"role", "user"}, {"content", "What is 2 + 3?"}}, {{"role", "assistant"}, {"content", "Answer: 5"}}}}},
      {{"prompt", "Reverse the word kelo."}, {"completion", "Answer: olek"}}};
  auto ex = wb::sft::sft_examples(tok, rows, {0, 1}, 128);
  REQUIRE(ex.size() == 2);
  for (const auto& e : ex) {
    REQUIRE(e.tokens.size() == e.weight.size());
    // The weighted tokens decode to the answer plus EOS.
    std::vector<int32_t> answer;
    for (size_t i = 0; i < e.tokens.size(); ++i)
      if (e.weight[i]) answer.push_back(e.tokens[i]);
    CHECK(answer.back() == tok.eos_id());
    CHECK(tok.decode(answer).rfind("Answer:", 0) == 0);
    CHECK(e.weight[0] == 0);
  }
  auto batches = wb::sft::pack(ex, 1, 128, 0, /*shuffle=*/false);
  REQUIRE(batches.size() == 1);
  const auto& b = batches[0];
  REQUIRE(b.batch.n_seqs() == 2);
  const int64_t n0 = static_cast<int64_t>(ex[0].tokens.size());
  CHECK(b.batch.cu_seqlens[1] == n0);
  CHECK(b.batch.positions[n0] == 0);  // positions restart in the second example
  CHECK(b.targets[n0 - 1] == -1);     // no target across the boundary
  CHECK(b.mask[n0 - 1] == 0.0f);
  CHECK(b.targets[0] == ex[0].tokens[1]);
  int64_t weighted = 0;
  for (const auto& e : ex)
    for (auto w : e.weight) weighted += w;
  CHECK(wb::sft::target_count(b) == weighted);

  // A budget of one example's tokens splits them into two micro-batches; truncation is counted.
  CHECK(wb::sft::pack(ex, 1, n0, 0, false).size() == 2);
  int64_t truncated = 0;
  auto cut = wb::sft::sft_examples(tok, rows, {0, 1}, 8, &truncated);
  CHECK(truncated == 2);
  CHECK(cut[0].tokens.size() == 8);
}

TEST_CASE("pretraining text examples are split at the context length, every token a target once", "[sft][data]") {
  const auto& tok = test_tokenizer();
  const std::string text = "The word kelo spelled backwards is olek. 23 plus 4 equals 27. Travelers to Zorbia arrive in Kelmor.";
  const auto whole = tok.encode(text, true, true);
  auto ex = wb::sft::text_examples(tok, {text, ""}, 8);
  int64_t targets = 0;
  for (const auto& e : ex) {
    CHECK(e.tokens.size() <= 8);
    for (size_t i = 1; i < e.weight.size(); ++i) targets += e.weight[i];
  }
  CHECK(targets == static_cast<int64_t>(whole.size()) - 1);
  // A text dataset's row and a prompt dataset's row are both read as text; anything else is refused.
  CHECK(wb::sft::row_text(json{{"text", "x"}}, 4) == "x");
  CHECK(wb::sft::row_text(json{{"prompt", "y"}}, 4) == "y");
  CHECK_THROWS_WITH(wb::sft::row_text(json{{"chosen", "x"}}, 4), Catch::Contains("row 4: field 'text'"));
  CHECK_THROWS_AS(wb::sft::pack({}, 1, 8, 0), std::invalid_argument);
}

TEST_CASE("train specs are parsed strictly with defaults", "[sft][spec]") {
  json s = {{"model", "m"}, {"dataset", "d"}, {"output", "o"}, {"job_id", 3}, {"resume_from", "/x"}};
  auto t = wb::sft::parse_train_spec("sft", s);
  CHECK(t.method == "lora");
  CHECK(t.lora.r == 8);
  CHECK(t.lora.lora_alpha == 16);
  CHECK(t.lora.target_modules.size() == 7);
  CHECK(t.resume_from == "/x");
  s["warmup"] = 0.1;
  s["schedule"] = "constant";
  s["max_steps"] = 10.0;  // integral floats are accepted
  s["device"] = nullptr;  // null is "not given": the daemon's default
  t = wb::sft::parse_train_spec("sft", s);
  CHECK(*t.max_steps == 10);
  CHECK(t.schedule == "constant");
  auto bad = [&](json spec, const std::string& needle) {
    CHECK_THROWS_WITH(wb::sft::parse_train_spec("sft", spec), Catch::Contains(needle));
  };
  json b = s;
  b["warmup"] = 2.5;
  bad(b, "field 'warmup'");
  b = s;
  b["min_lr"] = 1.0;
  bad(b, "field 'min_lr'");
  b = s;
  b["epochs"] = 0;
  bad(b, "field 'epochs': expected an integer 1..100000, got 0");
  b = s;
  b["dropout"] = 1.5;
  bad(b, "field 'dropout'");
  CHECK_THROWS_WITH(wb::sft::parse_train_spec("pretrain", json{{"model", "m"}, {"dataset", "d"}, {"output", "o"}, {"rank", 4}}),
                    Catch::Contains("field 'rank': unknown field"));
  CHECK_THROWS_WITH(wb::sft::parse_eval_spec(json::array()), Catch::Contains("expected a JSON object"));
}
