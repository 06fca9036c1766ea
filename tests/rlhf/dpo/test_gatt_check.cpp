// Which candidate gatt_data keeps for a turn (gatt_check.h), on replies the suite's checker grades:
// a persona dialogue of the generated suite, its reference reply (obeys, correct) against replies
// that ignore the persona or answer wrongly.
#include <catch2/catch.hpp>

#include "gatt_check.h"
#include "wb/suite/generator.h"

using nlohmann::json;

namespace {

// The first dialogue of the small suite's dialogues_eval.jsonl: its persona text, first user
// message and reference reply.
struct FirstTurn {
  std::string system, user, reference;
};

FirstTurn first_turn() {
  const auto g = wb::suite::generate(1, wb::suite::Sizes::small());
  const std::string& text = g.files.at("dialogues_eval.jsonl");
  const json row = json::parse(text.substr(0, text.find('\n')));
  return {row["messages"][0]["content"], row["messages"][1]["content"], row["messages"][2]["content"]};
}

}  // namespace

TEST_CASE("gatt_data keeps the candidate that obeys the persona, a correct one first", "[rlhf][gatt]") {
  const FirstTurn t = first_turn();
  const auto p = wb::rlhf::gatt_persona(t.system);
  REQUIRE(p.has_value());
  REQUIRE(wb::rlhf::gatt_persona("Be brief.") == std::nullopt);
  const auto ref = wb::rlhf::grade_gatt_reply(*p, t.user, t.reference);
  REQUIRE(ref.obeyed);
  REQUIRE(ref.correct);
  const std::string wrong = wb::suite::apply_persona(*p, "Answer: zzzz");  // obeys, wrong value
  REQUIRE(wb::rlhf::grade_gatt_reply(*p, t.user, wrong).obeyed);
  REQUIRE_FALSE(wb::rlhf::grade_gatt_reply(*p, t.user, wrong).correct);
  const std::string ignores = "I do not know.";
  REQUIRE_FALSE(wb::rlhf::grade_gatt_reply(*p, t.user, ignores).obeyed);

  CHECK(wb::rlhf::best_candidate(*p, t.user, {ignores, wrong, t.reference}) == 2);
  CHECK(wb::rlhf::best_candidate(*p, t.user, {ignores, wrong}) == 1);       // obeying beats ignoring
  CHECK(wb::rlhf::best_candidate(*p, t.user, {t.reference, t.reference}) == 0);  // the earliest on ties
  CHECK(wb::rlhf::best_candidate(*p, t.user, {ignores, ignores}) == 0);
  CHECK_THROWS_AS(wb::rlhf::best_candidate(*p, t.user, {}), std::invalid_argument);
}
