// Ghost Attention rows: the sampling context carries the instruction in every user turn, the
// training row only in the system message, with every reply but the last at weight 0.
#include <catch2/catch.hpp>

#include "wb/rlhf/gatt_rows.h"

using nlohmann::json;
using namespace wb::rlhf;

namespace {
const json kRow = json::parse(
    R"({"messages":[{"role":"system","content":"Hobby: chess"},{"role":"user","content":"What is 2 + 3?"},)"
    R"({"role":"assistant","content":"old"},{"role":"user","content":"Reverse the word kelo."},)"
    R"({"role":"assistant","content":"old"},{"role":"user","content":"What is 1 + 1?"}]})");
}

TEST_CASE("gatt rows: instruction on every sampled user turn, only in the first turn of the training row", "[rlhf][gatt]") {
  const GattDialogue d = parse_gatt_dialogue(kRow, 0);
  CHECK(d.instruction == "Hobby: chess");
  REQUIRE(d.users.size() == 3);
  const auto ctx = sampling_context(d, {"r1", "r2"});
  REQUIRE(ctx.size() == 5);
  for (size_t i : {0u, 2u, 4u}) {
    CHECK(ctx[i].role == "user");
    CHECK(ctx[i].content.rfind("Hobby: chess\n\n", 0) == 0);
  }
  CHECK(ctx[4].content == "Hobby: chess\n\nWhat is 1 + 1?");
  CHECK(ctx[1].content == "r1");
  CHECK(ctx[3].content == "r2");
  CHECK_THROWS(sampling_context(d, {"a", "b", "c"}));

  const json row = gatt_training_row(d, {"r1", "r2", "r3"});
  const json& ms = row["messages"];
  REQUIRE(ms.size() == 7);
  CHECK(ms[0] == json({{"role", "system"}, {"content", "Hobby: chess"}}));
  CHECK(ms[1]["content"] == "What is 2 + 3?");
  CHECK(ms[3]["content"] == "Reverse the word kelo.");
  CHECK(ms[2]["weight"] == 0);
  CHECK(ms[4]["weight"] == 0);
  CHECK_FALSE(ms[6].contains("weight"));
  CHECK(ms[6]["content"] == "r3");
  // Fewer replies than turns: the row stops at the last reply.
  CHECK(gatt_training_row(d, {"r1"})["messages"].size() == 3);
}

TEST_CASE("gatt rows: a dialogue without a system instruction is refused naming the field", "[rlhf][gatt]") {
  CHECK_THROWS_WITH(parse_gatt_dialogue(json::parse(R"({"messages":[{"role":"user","content":"hi"}]})"), 4),
                    "row 4: field 'messages[0].role': the first message must be the system instruction");
  CHECK_THROWS_WITH(parse_gatt_dialogue(json::parse(R"({"messages":[{"role":"system","content":"s"}]})"), 2),
                    Catch::Contains("field 'messages'"));
  CHECK_THROWS_WITH(parse_gatt_dialogue(json::parse(R"({"prompt":"a","completion":"b"})"), 1),
                    Catch::Contains("row 1: field 'messages'"));
}

TEST_CASE("gatt rows without GAtt: the instruction only in the first turn when sampling, every reply trained", "[rlhf][gatt]") {
  const GattDialogue d = parse_gatt_dialogue(kRow, 0);
  const auto ctx = plain_sampling_context(d, {"r1", "r2"});
  REQUIRE(ctx.size() == 6);
  CHECK(ctx[0].role == "system");
  CHECK(ctx[0].content == "Hobby: chess");
  CHECK(ctx[1].content == "What is 2 + 3?");
  CHECK(ctx[2].content == "r1");
  CHECK(ctx[3].content == "Reverse the word kelo.");
  CHECK(ctx[5].content == "What is 1 + 1?");
  CHECK(ctx[5].role == "user");
  CHECK_THROWS(plain_sampling_context(d, {"a", "b", "c"}));

  const json row = plain_training_row(d, {"r1", "r2", "r3"});
  const json& ms = row["messages"];
  REQUIRE(ms.size() == 7);
  CHECK(ms[0]["content"] == "Hobby: chess");
  for (size_t i : {2u, 4u, 6u}) CHECK_FALSE(ms[i].contains("weight"));
  CHECK(ms[5]["content"] == "What is 1 + 1?");
}
