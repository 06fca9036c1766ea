// StreamDecoder yields exactly what a full decode yields, for real text and for random id
// streams full of byte pieces, control ids and invalid UTF-8.
#include <catch2/catch.hpp>
#include <random>

#include "tokenizer_assets.h"
#include "wb/llama/tokenizer.h"

using wb::llama::StreamDecoder;
using wb::llama::Tokenizer;

namespace {

// Pushes ids one by one and returns the concatenation; also checks that every chunk is
// complete UTF-8 whenever the ids so far decode to valid UTF-8 (nothing is cut mid-character).
std::string stream(const Tokenizer& tok, const std::vector<int32_t>& ids) {
  StreamDecoder sd(tok);
  std::string out;
  for (int32_t id : ids) out += sd.push(id);
  out += sd.finish();
  return out;
}

}  // namespace

TEST_CASE("StreamDecoder: matches full decode on real text", "[tokenizer][stream]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  for (const std::string text :
       {"Hello world", " leading space", "  two leading spaces", "Hi \xF0\x9F\x98\x80 there",
        "\xF0\x9F\x98\x80 first", "日本語のテキスト and 한국어", "tabs\tand\nnewlines\n",
        "emoji run \xF0\x9F\x98\x80\xF0\x9F\x98\x81\xF0\x9F\x8E\x89!", "x"}) {
    INFO(text);
    for (bool bos : {false, true}) {
      const auto ids = tok->encode(text, bos, bos);
      CHECK(stream(*tok, ids) == tok->decode(ids));
    }
  }
}

TEST_CASE("StreamDecoder: holds back incomplete characters", "[tokenizer][stream]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  const auto ids = tok->encode("Hi \xF0\x9F\x98\x80");  // Hi, ▁, then 4 byte pieces
  REQUIRE(ids.size() == 6);
  StreamDecoder sd(*tok);
  CHECK(sd.push(ids[0]) == "Hi");
  CHECK(sd.push(ids[1]) == " ");
  CHECK(sd.push(ids[2]).empty());
  CHECK(sd.push(ids[3]).empty());
  CHECK(sd.push(ids[4]).empty());
  CHECK(sd.push(ids[5]) == "\xF0\x9F\x98\x80");
  CHECK(sd.finish().empty());
  CHECK(sd.emitted_bytes() == 0);  // finish() resets

  // A truncated character is flushed as U+FFFD per byte, like SentencePiece's decode.
  const std::vector<int32_t> partial = {ids[0], ids[2], ids[3]};
  StreamDecoder sd2(*tok);
  std::string out = sd2.push(partial[0]);
  out += sd2.push(partial[1]);
  out += sd2.push(partial[2]);
  CHECK(out == "Hi");
  out += sd2.finish();
  CHECK(out == tok->decode(partial));
  CHECK(out == "Hi\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("StreamDecoder: random id streams match full decode", "[tokenizer][stream]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  std::mt19937 rng(1234);
  // Mostly byte pieces (ids 3..258) so invalid/partial UTF-8 and leading-space rules are hit
  // often; some control/unk ids and ordinary pieces, including "▁" alone (29871) and "▁▁" (259).
  std::uniform_int_distribution<int> pick(0, 99);
  std::uniform_int_distribution<int32_t> any(0, tok->vocab_size() - 1);
  std::uniform_int_distribution<int32_t> byte(3, 258);
  const int32_t specials[] = {0, 1, 2, 29871, 259, 15043, 3186, 13};
  std::uniform_int_distribution<int> special(0, 7);
  for (int round = 0; round < 3000; ++round) {
    std::vector<int32_t> ids(std::uniform_int_distribution<int>(0, 12)(rng));
    for (auto& id : ids) {
      const int p = pick(rng);
      if (p < 50) {
        // UTF-8 lead/trail bytes more often than ASCII.
        id = (p < 35) ? 3 + std::uniform_int_distribution<int>(0x80, 0xF7)(rng) : byte(rng);
      } else if (p < 75) {
        id = specials[special(rng)];
      } else {
        id = any(rng);
      }
    }
    const std::string expected = tok->decode(ids);
    const std::string got = stream(*tok, ids);
    if (got != expected) {
      std::string list;
      for (int32_t id : ids) list += std::to_string(id) + " ";
      INFO("ids: " << list);
      REQUIRE(got == expected);
    }
  }
}

TEST_CASE("StreamDecoder: rejects out-of-range ids", "[tokenizer][stream]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  StreamDecoder sd(*tok);
  CHECK_THROWS_AS(sd.push(tok->vocab_size()), wb::llama::TokenizerError);
  CHECK_THROWS_AS(sd.push(-1), wb::llama::TokenizerError);
}
