// Labeling queries of the comparisons repository on a real SQLite file: the next unlabeled
// prompt (cursor, per annotator, kinds), the safety flag of prompt rows, counts and agreement.
#include <catch2/catch.hpp>

#include "wb/storage/store.h"
#include "wb_temp_dir.h"

using namespace wb::storage;

namespace {

DatasetRecord import(Store& s, const std::string& name, DatasetKind kind, const std::string& jsonl) {
  ImportOptions o;
  o.name = name;
  o.kind = kind;
  return s.datasets().import_jsonl(o, jsonl);
}

NewComparison label(const std::string& prompt, const std::string& a, const std::string& b, char chosen, int rating,
                    const std::string& safety, const std::string& annotator) {
  NewComparison c;
  c.dataset = "pref";
  c.prompt = prompt;
  c.response_a = a;
  c.response_b = b;
  c.chosen = chosen;
  c.rating = rating;
  c.safety = safety;
  c.annotator = annotator;
  return c;
}

}  // namespace

TEST_CASE("next_unlabeled walks the prompt rows past the cursor and the labeled ones", "[label][storage]") {
  wbtest::TempDir tmp("wb-label");
  Store s(tmp.path() / "wb.db");
  import(s, "prompts", DatasetKind::Prompt,
         "{\"prompt\":\"p0\"}\n{\"prompt\":\"p1\",\"is_safety_prompt\":true}\n{\"prompt\":\"p2\",\"system\":\"sys\"}\n");

  // Nothing labeled yet, and the target dataset does not exist: row 0, three left.
  auto n = s.comparisons().next_unlabeled("prompts", "pref", -1);
  REQUIRE(n);
  CHECK(n->index == 0);
  CHECK(n->prompt == "p0");
  CHECK_FALSE(n->is_safety_prompt);
  CHECK(n->remaining == 3);

  // The cursor skips rows (a skipped pair in this session).
  n = s.comparisons().next_unlabeled("prompts", "pref", 0);
  REQUIRE(n);
  CHECK(n->index == 1);
  CHECK(n->is_safety_prompt);
  CHECK(n->remaining == 2);

  // Labeled prompts are passed over; the system text comes along.
  s.comparisons().insert(label("p1", "x", "y", 'a', 2, "both_safe", "alice"));
  n = s.comparisons().next_unlabeled("prompts", "pref", 0);
  REQUIRE(n);
  CHECK(n->index == 2);
  CHECK(n->system == std::optional<std::string>("sys"));
  CHECK(n->remaining == 1);
  n = s.comparisons().next_unlabeled("prompts", "pref", -1);
  REQUIRE(n);
  CHECK(n->index == 0);
  CHECK(n->remaining == 2);

  // Per annotator: bob has labeled nothing, so p1 is his to label.
  n = s.comparisons().next_unlabeled("prompts", "pref", 0, std::string_view("bob"));
  REQUIRE(n);
  CHECK(n->index == 1);

  // All labeled: nullopt.
  s.comparisons().insert(label("p0", "x", "y", 'a', 2, "both_safe", "alice"));
  s.comparisons().insert(label("p2", "x", "y", 'a', 2, "both_safe", "alice"));
  CHECK_FALSE(s.comparisons().next_unlabeled("prompts", "pref", -1));
  CHECK(s.comparisons().next_unlabeled("prompts", "pref", -1, std::string_view("bob")));
}

TEST_CASE("next_unlabeled refuses the wrong kinds of dataset", "[label][storage]") {
  wbtest::TempDir tmp("wb-label");
  Store s(tmp.path() / "wb.db");
  import(s, "prompts", DatasetKind::Prompt, "{\"prompt\":\"p0\"}\n");
  import(s, "chat", DatasetKind::Sft, "{\"prompt\":\"p\",\"completion\":\"c\"}\n");
  CHECK_THROWS_WITH(s.comparisons().next_unlabeled("nope", "pref", -1), Catch::Contains("nope"));
  CHECK_THROWS_WITH(s.comparisons().next_unlabeled("chat", "pref", -1),
                    "field 'prompts': dataset 'chat' is of kind sft, labeling needs a prompt dataset");
  CHECK_THROWS_WITH(s.comparisons().next_unlabeled("prompts", "chat", -1),
                    "field 'into': dataset 'chat' is of kind sft, labels go to a preference dataset");
}

TEST_CASE("prompt rows may carry is_safety_prompt, checked like preference rows", "[label][storage]") {
  CHECK(canonical_line(DatasetKind::Prompt, R"({"is_safety_prompt":true,"system":"s","prompt":"p"})", 1) ==
        R"({"prompt":"p","system":"s","is_safety_prompt":true})");
  CHECK_THROWS_WITH(canonical_line(DatasetKind::Prompt, R"({"prompt":"p","is_safety_prompt":"yes"})", 4),
                    "line 4: field 'is_safety_prompt': expected true or false, got \"yes\"");
}

TEST_CASE("stats counts every label and measures agreement on pairs labeled twice", "[label][storage]") {
  wbtest::TempDir tmp("wb-label");
  Store s(tmp.path() / "wb.db");
  auto& c = s.comparisons();
  // Pair 1 (p1: x vs y): alice prefers x (3), bob sees the sides swapped and prefers x too (2),
  // carol prefers y. Couples: alice-bob agree (within one, not same rating), alice-carol and
  // bob-carol disagree. Safety: alice/bob both_safe, carol chosen_safe.
  auto a1 = label("p1", "x", "y", 'a', 3, "both_safe", "alice");
  a1.model_a = "m@T=0.7";
  a1.model_b = "m@T=1.2";
  a1.seconds = 4.0;
  c.insert(a1);
  auto b1 = label("p1", "y", "x", 'b', 2, "both_safe", "bob");
  b1.model_a = "m@T=1.2";
  b1.model_b = "m@T=0.7";
  b1.seconds = 2.0;
  c.insert(b1);
  c.insert(label("p1", "x", "y", 'b', 0, "chosen_safe", "carol"));
  // Pair 2 (p2): alice twice (not agreement) and bob once, both prefer "u" at rating 1.
  auto a2 = label("p2", "u", "v", 'a', 1, "both_unsafe", "alice");
  a2.is_safety_prompt = true;
  c.insert(a2);
  c.insert(a2);
  c.insert(label("p2", "v", "u", 'b', 1, "both_unsafe", "bob"));
  // Pair 3: same prompt, other responses, one label: no agreement.
  c.insert(label("p2", "u", "w", 'a', 0, "both_safe", "bob"));

  LabelStats st = c.stats(std::string_view("pref"));
  CHECK(st.total == 7);
  CHECK(st.safety_prompts == 2);
  CHECK(st.chosen["a"] == 4);
  CHECK(st.chosen["b"] == 3);
  CHECK(st.rating[3] == 1);
  CHECK(st.rating[2] == 1);
  CHECK(st.rating[1] == 3);
  CHECK(st.rating[0] == 2);
  CHECK(st.safety["both_safe"] == 3);
  CHECK(st.safety["chosen_safe"] == 1);
  CHECK(st.safety["both_unsafe"] == 3);
  CHECK(st.annotator["alice"] == 3);
  CHECK(st.annotator["bob"] == 3);
  CHECK(st.annotator["carol"] == 1);
  CHECK(st.source["human"] == 7);
  CHECK(st.wins["m@T=0.7"] == 2);  // alice chose side a (T=0.7), bob side b (T=0.7)
  CHECK(st.seconds_count == 2);
  CHECK(st.seconds_total == Approx(6.0));

  const LabelAgreement& g = st.agreement;
  CHECK(g.pairs == 2);
  // Pair 1: 3 couples; pair 2: alice#1-bob and alice#2-bob (alice-alice is not a couple).
  CHECK(g.couples == 5);
  CHECK(g.same_preference == 3);    // alice-bob on pair 1, both alice-bob on pair 2
  CHECK(g.same_rating == 2);        // pair 2 (1 and 1)
  CHECK(g.rating_within_one == 3);  // + pair 1 alice-bob (3 vs 2)
  CHECK(g.same_safety == 3);        // pair 1 alice-bob, pair 2 twice

  // All datasets, and a missing one.
  CHECK(c.stats(std::nullopt).total == 7);
  CHECK_THROWS_WITH(c.stats(std::string_view("nope")), Catch::Contains("nope"));
}
