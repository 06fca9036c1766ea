// Training a small SentencePiece BPE tokenizer and loading it back.
#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "tokenizer_assets.h"
#include "wb/llama/sp_trainer.h"
#include "wb/llama/tokenizer.h"

using wb::llama::SpTrainOptions;
using wb::llama::StreamDecoder;
using wb::llama::Tokenizer;
using wb::llama::TokenizerError;
using wb::llama::train_sentencepiece;

namespace {

// A deterministic toy corpus: simple arithmetic and animal sentences.
void write_corpus(const std::filesystem::path& path) {
  const char* animals[] = {"cat", "dog", "bird", "fish", "horse", "mouse", "tiger", "zebra"};
  const char* verbs[] = {"sees", "likes", "chases", "follows", "meets"};
  std::ofstream out(path);
  for (int i = 0; i < 600; ++i) {
    out << "The " << animals[i % 8] << " " << verbs[i % 5] << " the " << animals[(i * 7 + 3) % 8]
        << ".\n";
    out << "What is " << i % 50 << " plus " << (i * 3) % 50 << "? It is " << (i % 50 + (i * 3) % 50)
        << ".\n";
  }
}

std::string read_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("sp_trainer: trains a BPE tokenizer that loads and round-trips", "[tokenizer][train]") {
  wb::test::ScratchDir dir;
  const auto corpus = dir.path() / "corpus.txt";
  write_corpus(corpus);
  SpTrainOptions o;
  o.vocab_size = 400;
  const auto model = dir.path() / "tokenizer.model";
  train_sentencepiece(corpus, model, o);

  Tokenizer tok(model);
  CHECK(tok.vocab_size() == 400);
  CHECK(tok.unk_id() == 0);
  CHECK(tok.bos_id() == 1);
  CHECK(tok.eos_id() == 2);
  CHECK(tok.pad_id() == 3);
  CHECK(tok.strips_leading_space());
  // Frequent words become single pieces.
  CHECK(tok.encode("The cat").size() <= 3);
  for (const std::string text :
       {"The zebra chases the dog.", "What is 12 plus 30? It is 42.", "unseen words: Qx jj",
        "emoji \xF0\x9F\x98\x80 and caf\xC3\xA9"}) {
    const auto ids = tok.encode(text, true, true);
    CHECK(tok.decode(ids) == text);
    StreamDecoder sd(tok);
    std::string streamed;
    for (int32_t id : ids) streamed += sd.push(id);
    streamed += sd.finish();
    CHECK(streamed == text);
  }
  // Characters never seen in the corpus use byte fallback, never <unk>.
  for (int32_t id : tok.encode("\xF0\x9F\x98\x80")) CHECK_FALSE(tok.is_unknown(id));
  // Digits are split one by one (split_digits, as Llama 2's tokenizer does).
  CHECK(tok.encode("1234").size() >= 4);
  // No stray files next to the model.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
    (void)e;
    ++files;
  }
  CHECK(files == 2);  // corpus + model

  SECTION("training is deterministic") {
    const auto again = dir.path() / "again.model";
    train_sentencepiece(corpus, again, o);
    CHECK(read_bytes(again) == read_bytes(model));
  }
}

TEST_CASE("sp_trainer: options and errors", "[tokenizer][train]") {
  wb::test::ScratchDir dir;
  const auto corpus = dir.path() / "corpus.txt";
  write_corpus(corpus);
  SpTrainOptions o;
  o.vocab_size = 300;
  o.pad_id = -1;
  o.user_defined_symbols = {"<tool>"};
  const auto model = dir.path() / "t.model";
  train_sentencepiece(corpus, model, o);
  Tokenizer tok(model);
  CHECK(tok.pad_id() == -1);
  const int32_t tool = tok.piece_to_id("<tool>");
  CHECK(tool != tok.unk_id());
  const auto ids = tok.encode("call <tool> now");
  CHECK(std::find(ids.begin(), ids.end(), tool) != ids.end());

  CHECK_THROWS_AS(train_sentencepiece(dir.path() / "missing.txt", model, o), TokenizerError);
  const auto empty = dir.path() / "empty.txt";
  std::ofstream(empty).close();
  try {
    train_sentencepiece(empty, model, o);
    FAIL("expected an error");
  } catch (const TokenizerError& e) {
    CHECK_THAT(e.what(), Catch::Contains("empty"));
  }
  SpTrainOptions huge = o;
  huge.vocab_size = 100000;  // far more pieces than this corpus holds
  CHECK_THROWS_AS(train_sentencepiece(corpus, dir.path() / "huge.model", huge), TokenizerError);
  CHECK_FALSE(std::filesystem::exists(dir.path() / "huge.model"));
  // The earlier model is untouched by failed runs.
  CHECK(Tokenizer(model).vocab_size() == 300);
}
