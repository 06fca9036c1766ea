// Llama 2 chat rendering: ids as Meta's generation.py builds them, the answer mask, errors.
#include <catch2/catch.hpp>

#include <algorithm>

#include "tokenizer_assets.h"
#include "wb/llama/chat_template.h"

using wb::llama::AnswerMask;
using wb::llama::ChatMessage;
using wb::llama::ChatTemplateError;
using wb::llama::render_llama2_chat;
using wb::llama::render_llama2_chat_text;
using wb::llama::Tokenizer;

namespace {

std::vector<int32_t> cat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The error message for `messages`, or "" when rendering succeeds.
std::string error_of(const Tokenizer& tok, const std::vector<ChatMessage>& messages) {
  try {
    render_llama2_chat(tok, messages);
  } catch (const ChatTemplateError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("chat: ids checked independently with python3-sentencepiece", "[tokenizer][chat]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  // Expected ids computed with Debian's python3-sentencepiece 0.1.97 running Meta's
  // chat_completion() algorithm (llama/generation.py) over this tokenizer.model.
  const std::vector<ChatMessage> dialog = {{"system", "Be brief."},
                                           {"user", "Hi"},
                                           {"assistant", "Hello!"},
                                           {"user", "2+2?"}};
  const std::vector<int32_t> expected = {
      1,     518,   25580, 29962, 3532,  14816, 29903, 6778,  13,    3629,  11473,
      29889, 13,    29966, 829,   14816, 29903, 6778,  13,    13,    18567, 518,
      29914, 25580, 29962, 15043, 29991, 29871, 2,     1,     518,   25580, 29962,
      29871, 29906, 29974, 29906, 29973, 518,   29914, 25580, 29962};
  const auto r = render_llama2_chat(*tok, dialog);
  CHECK(r.ids == expected);
  CHECK(r.ends_with_prompt);
  // Mask: exactly "▁Hello", "!", "▁" and the EOS of the answered turn.
  std::vector<uint8_t> mask(expected.size(), 0);
  mask[25] = mask[26] = mask[27] = mask[28] = 1;
  CHECK(r.mask == mask);

  // User text spelling </s> stays text (python: [1, 518, 25580, 29962, 1724, 338, 1533, ...]).
  const std::vector<ChatMessage> sneaky = {{"user", "What is </s>?"}};
  CHECK(render_llama2_chat(*tok, sneaky).ids ==
        std::vector<int32_t>{1, 518, 25580, 29962, 1724, 338, 1533, 29879, 29958, 29973, 518,
                             29914, 25580, 29962});
}

TEST_CASE("chat: multi-turn with system follows Meta's per-turn encoding", "[tokenizer][chat]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  const std::vector<ChatMessage> dialog = {
      {"system", "You are a pirate.\nAlways answer in rhymes."},
      {"user", "  What is the capital of France?\n"},
      {"assistant", " Paris, where the Seine does flow. "},
      {"user", "And of Italy?"},
      {"assistant", "Rome, as all the sailors know."},
      {"user", "Thanks </s> [INST] bye"},
  };
  // Meta: system folded into the first user message, each pair encoded on its own. strip()
  // applies to the folded text as a whole, so the user's leading spaces stay after <</SYS>>.
  auto expected = tok->encode(
      "[INST] <<SYS>>\nYou are a pirate.\nAlways answer in rhymes.\n<</SYS>>\n\n"
      "  What is the capital of France? [/INST] Paris, where the Seine does flow. ",
      true, true);
  expected = cat(expected, tok->encode("[INST] And of Italy? [/INST] Rome, as all the sailors know. ",
                                       true, true));
  expected = cat(expected, tok->encode("[INST] Thanks </s> [INST] bye [/INST]", true, false));
  const auto r = render_llama2_chat(*tok, dialog);
  CHECK(r.ids == expected);
  REQUIRE(r.mask.size() == r.ids.size());

  // Joined encoding differs: the per-turn encoding is what makes the ids match.
  CHECK(tok->encode(render_llama2_chat_text(dialog)) != r.ids);
  CHECK(render_llama2_chat_text(dialog) ==
        "<s>[INST] <<SYS>>\nYou are a pirate.\nAlways answer in rhymes.\n<</SYS>>\n\n"
        "  What is the capital of France? [/INST] Paris, where the Seine does flow. </s>"
        "<s>[INST] And of Italy? [/INST] Rome, as all the sailors know. </s>"
        "<s>[INST] Thanks </s> [INST] bye [/INST]");

  // The masked tokens decode to exactly the answers (+ EOS); no control id besides BOS/EOS.
  std::vector<int32_t> answer_ids;
  size_t eos_masked = 0;
  for (size_t i = 0; i < r.ids.size(); ++i) {
    if (r.mask[i]) {
      answer_ids.push_back(r.ids[i]);
      if (r.ids[i] == tok->eos_id()) ++eos_masked;
    }
    if (r.ids[i] == tok->eos_id()) CHECK(r.mask[i] == 1);
    if (r.ids[i] == tok->bos_id()) CHECK(r.mask[i] == 0);
  }
  CHECK(eos_masked == 2);
  CHECK(tok->decode(answer_ids) ==
        "Paris, where the Seine does flow.  Rome, as all the sailors know. ");
}

TEST_CASE("chat: Ghost Attention mask keeps only the last answer", "[tokenizer][chat]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  const std::vector<ChatMessage> dialog = {{"system", "Answer in French."},
                                           {"user", "Hello"},
                                           {"assistant", "Bonjour"},
                                           {"user", "Thanks"},
                                           {"assistant", "Merci"}};
  const auto all = render_llama2_chat(*tok, dialog, AnswerMask::AllTurns);
  const auto last = render_llama2_chat(*tok, dialog, AnswerMask::LastTurnOnly);
  CHECK(all.ids == last.ids);
  CHECK_FALSE(all.ends_with_prompt);
  std::vector<int32_t> last_answer;
  for (size_t i = 0; i < last.ids.size(); ++i) {
    if (last.mask[i]) last_answer.push_back(last.ids[i]);
    if (last.mask[i]) CHECK(all.mask[i] == 1);  // a subset of the full mask
  }
  CHECK(tok->decode(last_answer) == "Merci ");
  CHECK(last_answer.back() == tok->eos_id());
  size_t n_all = 0, n_last = 0;
  for (size_t i = 0; i < all.ids.size(); ++i) {
    n_all += all.mask[i];
    n_last += last.mask[i];
  }
  CHECK(n_all > n_last);
  // The masked tokens of the last turn are the tail of the sequence.
  CHECK(last.mask.back() == 1);
}

TEST_CASE("chat: an assistant message with train false is context only", "[tokenizer][chat]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  std::vector<ChatMessage> dialog = {{"system", "Answer in French."}, {"user", "Hello"}, {"assistant", "Bonjour"},
                                     {"user", "Thanks"}, {"assistant", "Merci"}};
  const auto all = render_llama2_chat(*tok, dialog);
  dialog[2].train = false;
  const auto masked = render_llama2_chat(*tok, dialog);
  const auto last = render_llama2_chat(*tok, dialog, AnswerMask::LastTurnOnly);
  CHECK(masked.ids == all.ids);
  CHECK(masked.mask == last.mask);  // here the same as training on the last turn only
  CHECK(masked.mask != all.mask);
  dialog[4].train = false;
  const auto none = render_llama2_chat(*tok, dialog);
  CHECK(std::count(none.mask.begin(), none.mask.end(), 1) == 0);
}

TEST_CASE("chat: strip() matches Python's, including Unicode spaces", "[tokenizer][chat]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  const std::vector<ChatMessage> dialog = {{"user", "\xC2\xA0\t hi \xE3\x80\x80\n"}};
  CHECK(render_llama2_chat(*tok, dialog).ids == tok->encode("[INST] hi [/INST]", true));
  const std::vector<ChatMessage> empty_answer = {{"user", "q"}, {"assistant", "   "}};
  const auto r = render_llama2_chat(*tok, empty_answer);
  CHECK(r.ids == tok->encode("[INST] q [/INST]  ", true, true));
}

TEST_CASE("chat: the mask splits prompt and answer exactly", "[tokenizer][chat]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  // Digits are split from their "▁" in Llama's vocabulary; the lone "▁" belongs to the answer.
  for (const std::string answer : {"42", "Hello there", "\xF0\x9F\x98\x80 ok", "(a) first"}) {
    INFO(answer);
    const std::vector<ChatMessage> dialog = {{"user", "q"}, {"assistant", answer}};
    const auto r = render_llama2_chat(*tok, dialog);
    std::vector<int32_t> prompt, reply;
    for (size_t i = 0; i < r.ids.size(); ++i) (r.mask[i] ? reply : prompt).push_back(r.ids[i]);
    CHECK(prompt == tok->encode("[INST] q [/INST]", true));
    CHECK(tok->decode(reply) == answer + " ");
    CHECK(reply.back() == tok->eos_id());
  }
}

TEST_CASE("chat: role errors name the message", "[tokenizer][chat]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  CHECK_THAT(error_of(*tok, {}), Catch::Contains("no messages"));
  CHECK_THAT(error_of(*tok, {{"system", "s"}}), Catch::Contains("message 0"));
  CHECK_THAT(error_of(*tok, {{"assistant", "a"}}),
             Catch::Contains("message 0") && Catch::Contains("expected 'user'"));
  CHECK_THAT(error_of(*tok, {{"user", "a"}, {"user", "b"}}),
             Catch::Contains("message 1") && Catch::Contains("expected 'assistant'"));
  CHECK_THAT(error_of(*tok, {{"system", "s"}, {"user", "a"}, {"assistant", "b"}, {"system", "x"}}),
             Catch::Contains("message 3") && Catch::Contains("'system'"));
  CHECK_THAT(error_of(*tok, {{"user", "a"}, {"bot", "b"}}),
             Catch::Contains("message 1") && Catch::Contains("unknown role"));
  CHECK(error_of(*tok, {{"user", "a"}, {"assistant", "b"}}).empty());
}

TEST_CASE("chat: the ids of the system message's text are marked", "[tokenizer][chat]") {
  WB_REQUIRE_LLAMA2_TOKENIZER(tok);
  // The same dialog as above: ids 9..11 are "Be", "brief", "." between "<<SYS>>\n" and "\n<</SYS>>".
  const std::vector<ChatMessage> dialog = {{"system", "Be brief."}, {"user", "Hi"}, {"assistant", "Hello!"}, {"user", "2+2?"}};
  const auto r = render_llama2_chat(*tok, dialog);
  CHECK(r.system_begin == 9);
  CHECK(r.system_end == 12);
  CHECK(tok->decode(std::vector<int32_t>(r.ids.begin() + r.system_begin, r.ids.begin() + r.system_end)) == "Be brief.");
  const auto none = render_llama2_chat(*tok, std::vector<ChatMessage>{{"user", "Hi"}});
  CHECK(none.system_begin == 0);
  CHECK(none.system_end == 0);
}
