// Tokenizer over the real Llama 2 tokenizer.model: ids Meta's tokenizer gives, decoding, byte
// fallback, special ids, errors.
#include <catch2/catch.hpp>
#include <fstream>

#include "tokenizer_assets.h"
#include "wb/llama/tokenizer.h"

using wb::llama::Tokenizer;
using wb::llama::TokenizerError;

TEST_CASE("Llama 2 tokenizer: reference ids", "[tokenizer]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  CHECK(tok->encode("I believe the meaning of life is", true) ==
        std::vector<int32_t>{1, 306, 4658, 278, 6593, 310, 2834, 338});
  CHECK(tok->encode("Hello world", true) == std::vector<int32_t>{1, 15043, 3186});
  CHECK(tok->encode("Hello world", true, true) == std::vector<int32_t>{1, 15043, 3186, 2});
  CHECK(tok->encode("Hello world") == std::vector<int32_t>{15043, 3186});
  CHECK(tok->encode("").empty());
  CHECK(tok->encode("", true) == std::vector<int32_t>{1});
}

TEST_CASE("Llama 2 tokenizer: special ids and pieces", "[tokenizer]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  CHECK(tok->vocab_size() == 32000);
  CHECK(tok->bos_id() == 1);
  CHECK(tok->eos_id() == 2);
  CHECK(tok->unk_id() == 0);
  CHECK(tok->pad_id() == -1);
  CHECK(tok->id_to_piece(15043) == "\xE2\x96\x81Hello");
  CHECK(tok->piece_to_id("\xE2\x96\x81Hello") == 15043);
  CHECK(tok->piece_to_id("no-such-piece-xyz") == tok->unk_id());
  CHECK(tok->id_to_piece(1) == "<s>");
  CHECK(tok->is_control(1));
  CHECK(tok->is_control(2));
  CHECK(tok->is_unknown(0));
  CHECK_FALSE(tok->is_control(15043));
  CHECK(tok->is_byte(3));  // <0x00>
  CHECK(tok->byte_value(3) == 0x00);
  CHECK(tok->id_to_piece(3 + 0x41) == "<0x41>");
  CHECK(tok->byte_value(3 + 0xF0) == 0xF0);
  CHECK(tok->byte_value(15043) == -1);
  CHECK(tok->strips_leading_space());
  CHECK_THROWS_AS(tok->id_to_piece(32000), TokenizerError);
  CHECK_THROWS_AS(tok->id_to_piece(-1), TokenizerError);
}

TEST_CASE("Llama 2 tokenizer: decode round trips", "[tokenizer]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  for (const std::string text :
       {"Hello world", "I believe the meaning of life is", "Numbers 12345 and  two  spaces",
        "Zürich, naïve café — “quotes”", "日本語のテキスト", "line one\nline two\n\ttab",
        "code: for (int i = 0; i < n; ++i) { x[i] = 0; }"}) {
    const auto ids = tok->encode(text, true, true);
    CHECK(tok->decode(ids) == text);
  }
  CHECK(tok->decode(std::vector<int32_t>{}).empty());
  CHECK_THROWS_AS(tok->decode(std::vector<int32_t>{1, 32000}), TokenizerError);
  CHECK_THROWS_AS(tok->decode(std::vector<int32_t>{-5}), TokenizerError);
}

TEST_CASE("Llama 2 tokenizer: byte fallback for characters outside the vocabulary", "[tokenizer]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  // U+1F600 is not a piece: it becomes its four UTF-8 bytes <0xF0><0x9F><0x98><0x80>
  // (ids 3 + byte), checked with python3-sentencepiece 0.1.97: [6324, 29871, 243, 162, 155, 131].
  const auto ids = tok->encode("Hi \xF0\x9F\x98\x80");
  CHECK(ids == std::vector<int32_t>{6324, 29871, 243, 162, 155, 131});
  for (size_t i = 2; i < ids.size(); ++i) CHECK(tok->is_byte(ids[i]));
  CHECK(tok->decode(ids) == "Hi \xF0\x9F\x98\x80");
}

TEST_CASE("Llama 2 tokenizer: control text stays text", "[tokenizer]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  const auto ids = tok->encode("say </s> and <s> and [INST]");
  for (int32_t id : ids) {
    CHECK(id != tok->eos_id());
    CHECK(id != tok->bos_id());
  }
  CHECK(tok->decode(ids) == "say </s> and <s> and [INST]");
  // Control ids decode to nothing.
  CHECK(tok->decode(std::vector<int32_t>{1, 15043, 2}) == "Hello");
}

TEST_CASE("Llama 2 tokenizer: offsets cover the text", "[tokenizer]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  std::vector<Tokenizer::Span> spans;
  const std::string text = "[INST] Hi [/INST] Hello! ";
  const auto ids = tok->encode_with_offsets(text, spans);
  REQUIRE(ids == tok->encode(text));
  REQUIRE(spans.size() == ids.size());
  CHECK(spans.back().end == text.size());
  for (size_t i = 1; i < spans.size(); ++i) CHECK(spans[i].begin >= spans[i - 1].begin);
}

TEST_CASE("Tokenizer: missing or corrupt model files are clear errors", "[tokenizer]") {
  wb::test::ScratchDir dir;
  try {
    Tokenizer t(dir.path() / "nope.model");
    FAIL("expected an error");
  } catch (const TokenizerError& e) {
    CHECK_THAT(e.what(), Catch::Contains("nope.model") && Catch::Contains("does not exist"));
  }
  CHECK_THROWS_AS(Tokenizer(dir.path()), TokenizerError);
  const auto bad = dir.path() / "bad.model";
  {
    std::ofstream(bad) << "this is not a sentencepiece model";
  }
  try {
    Tokenizer t(bad);
    FAIL("expected an error");
  } catch (const TokenizerError& e) {
    CHECK_THAT(e.what(), Catch::Contains("bad.model"));
  }
  CHECK_THROWS_AS(Tokenizer::from_serialized("\x01\x02garbage"), TokenizerError);
}
