// Preference data pieces: row parsing, mixing datasets by ratio, the ranking batch layout, and the
// synthetic labeler's rating rule on real suite prompts graded by the real checker.
#include <map>

#include <catch2/catch.hpp>

#include "wb/reward/preference_pairs.h"
#include "wb/reward/synthetic_label.h"
#include "wb/suite/tasks.h"

using namespace wb::reward;
using nlohmann::json;

TEST_CASE("preference rows parse strictly, naming the row and field", "[reward][pairs]") {
  const auto p = parse_preference_row(
      json{{"prompt", "q"}, {"chosen", "a"}, {"rejected", "b"}, {"rating", 2}, {"safety", "chosen_safe"},
           {"is_safety_prompt", true}},
      4);
  CHECK(p.rating == 2);
  CHECK(p.safety == "chosen_safe");
  CHECK(p.is_safety_prompt);
  CHECK(parse_preference_row(json{{"prompt", "q"}, {"chosen", "a"}, {"rejected", "b"}}, 0).rating == -1);
  CHECK_THROWS_WITH(parse_preference_row(json{{"prompt", "q"}, {"chosen", "a"}}, 7),
                    "row 7: field 'rejected': expected a non-empty string");
  CHECK_THROWS_WITH(parse_preference_row(json{{"prompt", "q"}, {"chosen", "a"}, {"rejected", "b"}, {"rating", 4}}, 1),
                    "row 1: field 'rating': expected an integer 0..3");
  CHECK_THROWS_WITH(parse_preference_row(json{{"prompt", "q"}, {"chosen", "a"}, {"rejected", "b"}, {"safety", "x"}}, 1),
                    Catch::Contains("field 'safety'"));
}

TEST_CASE("mix_draws follows the ratios and uses each pool's pairs once before repeating", "[reward][pairs]") {
  const auto draws = mix_draws({10, 40}, {3.0, 1.0}, 4000, 9);
  REQUIRE(draws.size() == 4000);
  std::map<size_t, int> per_pool;
  for (auto& [pool, index] : draws) {
    ++per_pool[pool];
    CHECK(index < (pool == 0 ? 10u : 40u));
  }
  CHECK(per_pool[0] == Approx(3000).margin(120));  // 3:1
  // Without replacement inside a pool: the first 10 draws of pool 0 are a permutation.
  std::map<size_t, int> first;
  int seen = 0;
  for (auto& [pool, index] : draws)
    if (pool == 0 && seen < 10) {
      ++first[index];
      ++seen;
    }
  CHECK(first.size() == 10);
  CHECK(mix_draws({10, 40}, {3.0, 1.0}, 50, 9) == std::vector<std::pair<size_t, size_t>>(draws.begin(), draws.begin() + 50));
  CHECK(mix_draws({0, 5}, {1.0, 1.0}, 20, 1).size() == 20);  // an empty pool is skipped
  CHECK_THROWS(mix_draws({0, 5}, {1.0, 0.0}, 1, 1));
  CHECK_THROWS(mix_draws({5}, {1.0, 2.0}, 1, 1));
}

TEST_CASE("a ranking batch holds all chosen then all rejected sequences, heads at each last token", "[reward][pairs]") {
  EncodedPair a{{1, 5, 2}, {1, 6, 6, 2}, 3, "", false, 0};
  EncodedPair b{{1, 7, 7, 7, 2}, {1, 8, 2}, 0, "", false, 1};
  const auto tb = pair_batch({&a, &b}, kPaperMargins);
  CHECK(tb.batch.cu_seqlens == std::vector<int32_t>{0, 3, 8, 12, 15});
  CHECK(tb.batch.last_index == std::vector<int32_t>{2, 7, 11, 14});  // every EOS, never a pad
  CHECK(tb.margins == std::vector<float>{1.0f, 0.0f});
}

TEST_CASE("synthetic labels: the checker's grade difference is the rating", "[reward][pairs]") {
  wb::llama::Rng rng(1);
  const std::string q = wb::suite::make_add(23, 4).prompt;  // "What is 23 + 4?"
  auto l = synthetic_label(q, "Answer: 27", "I do not know.", rng);
  REQUIRE(l);
  CHECK(l->chosen == 'a');
  CHECK(l->rating == 3);  // correct + formatted vs neither
  CHECK(l->safety == "both_safe");
  CHECK_FALSE(l->is_safety_prompt);
  l = synthetic_label(q, "Answer: 28", "Answer: 27", rng);
  CHECK(l->chosen == 'b');
  CHECK(l->rating == 2);  // correct vs formatted-but-wrong
  l = synthetic_label(q, "The answer is 27.", "Answer: 27", rng);
  CHECK(l->chosen == 'b');
  CHECK(l->rating == 1);  // formatted vs sloppy, both correct
  l = synthetic_label(q, "Answer: 27", "Answer: 27", rng);
  CHECK(l->rating == 0);  // a tie: "negligibly better / unsure", side by coin

  const auto unsafe = wb::suite::make_unsafe(0, 0, 0);
  l = synthetic_label(unsafe.prompt, wb::suite::unsafe_compliance(unsafe, 0), std::string(wb::suite::kRefusal), rng);
  REQUIRE(l);
  CHECK(l->is_safety_prompt);
  CHECK(l->chosen == 'b');
  CHECK(l->safety == "chosen_safe");
  CHECK(l->rating >= 2);
  l = synthetic_label(unsafe.prompt, wb::suite::unsafe_compliance(unsafe, 0), wb::suite::unsafe_compliance(unsafe, 1), rng);
  CHECK(l->safety == "both_unsafe");
  CHECK_FALSE(synthetic_label("Tell me a joke.", "a", "b", rng));  // not a suite prompt: no label
  CHECK(std::string(kSyntheticAnnotator).find("synthetic stand-in") != std::string::npos);
}
