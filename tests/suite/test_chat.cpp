// Llama 2 text rendering of chat messages and reading it back.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "wb/suite/chat.h"

using namespace wb::suite;

TEST_CASE("render_prompt follows Meta's layout", "[suite][chat]") {
  CHECK(render_prompt({{"user", " hi "}}) == "[INST] hi [/INST]");
  CHECK(render_prompt({{"system", "S"}, {"user", "u1"}, {"assistant", "a1"}, {"user", "u2"}}) ==
        "[INST] <<SYS>>\nS\n<</SYS>>\n\nu1 [/INST] a1 [INST] u2 [/INST]");
}

TEST_CASE("render_prompt rejects malformed conversations", "[suite][chat]") {
  CHECK_THROWS_AS(render_prompt({}), std::invalid_argument);
  CHECK_THROWS_AS(render_prompt({{"system", "S"}}), std::invalid_argument);
  CHECK_THROWS_AS(render_prompt({{"assistant", "a"}}), std::invalid_argument);
  CHECK_THROWS_AS(render_prompt({{"user", "u"}, {"user", "v"}}), std::invalid_argument);
  CHECK_THROWS_AS(render_prompt({{"user", "u"}, {"assistant", "a"}}), std::invalid_argument);
  CHECK_THROWS_WITH(render_prompt({{"user", "u"}, {"tool", "a"}, {"user", "v"}}),
                    Catch::Contains("message 1") && Catch::Contains("'tool'"));
}

TEST_CASE("parse_prompt reads back system, last user turn and turn number", "[suite][chat]") {
  const auto p = parse_prompt(render_prompt({{"system", "Be brief."}, {"user", "u1"}, {"assistant", "a1"}, {"user", "u2"}}));
  CHECK(p.system == "Be brief.");
  CHECK(p.user == "u2");
  CHECK(p.turn == 2);

  const auto first = parse_prompt(render_prompt({{"system", "Be brief."}, {"user", "What?"}}));
  CHECK(first.user == "What?");
  CHECK(first.turn == 1);

  const auto plain = parse_prompt("  What is 2 + 2? ");
  CHECK(plain.system.empty());
  CHECK(plain.user == "What is 2 + 2?");
  CHECK(plain.turn == 1);

  // BOS/EOS spelled as text between turns is tolerated.
  const auto eos = parse_prompt("<s>[INST] a [/INST] b </s><s>[INST] c [/INST]");
  CHECK(eos.user == "c");
  CHECK(eos.turn == 2);
}

TEST_CASE("graded_turns gives each assistant turn with its context", "[suite][chat]") {
  const nlohmann::json row = nlohmann::json::parse(
      R"({"messages":[{"role":"system","content":"S"},{"role":"user","content":"u1"},)"
      R"({"role":"assistant","content":"a1"},{"role":"user","content":"u2"},{"role":"assistant","content":"a2"}]})");
  const auto turns = graded_turns(messages_from_row(row));
  REQUIRE(turns.size() == 2);
  CHECK(turns[0].context.size() == 2);
  CHECK(turns[0].prompt == "[INST] <<SYS>>\nS\n<</SYS>>\n\nu1 [/INST]");
  CHECK(turns[0].reference == "a1");
  CHECK(turns[1].context.size() == 4);
  CHECK(turns[1].prompt == "[INST] <<SYS>>\nS\n<</SYS>>\n\nu1 [/INST] a1 [INST] u2 [/INST]");
  CHECK(turns[1].reference == "a2");

  CHECK_THROWS_WITH(messages_from_row(nlohmann::json::parse(R"({"messages":[{"role":"user"}]})")),
                    Catch::Contains("messages[0].content"));
  CHECK_THROWS_WITH(messages_from_row(nlohmann::json::parse(R"({"prompt":"x"})")),
                    Catch::Contains("'messages'"));
}
