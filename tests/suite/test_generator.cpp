// The generator: determinism, held-out splits, row shapes, and that every row grades the way
// the suite says it should.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "suite_test_util.h"
#include "wb/suite/checker.h"
#include "wb/suite/corpus.h"
#include "wb/suite/generator.h"
#include "wb/suite/world.h"

using namespace wb::suite;
using namespace wb::suite::testing;
using nlohmann::json;

namespace {

const std::vector<std::string> kJsonlFiles = {
    "sft_train.jsonl",          "sft_eval.jsonl",           "pref_helpful_train.jsonl",
    "pref_helpful_eval.jsonl",  "pref_safety_train.jsonl",  "pref_safety_eval.jsonl",
    "prompts_train.jsonl",      "prompts_eval.jsonl",       "gatt_train.jsonl",
    "gatt_eval.jsonl",          "dialogues_train.jsonl",    "dialogues_eval.jsonl",
    "rlhf_eval.jsonl",          "sft_persona_train.jsonl"};

const Generated& small_suite() {
  static const Generated g = generate(11, Sizes::small());
  return g;
}

std::set<std::string> key_set(const json& row) {
  std::set<std::string> keys;
  for (const auto& [k, v] : row.items()) keys.insert(k);
  return keys;
}

// Every user prompt in a file, whatever its shape.
std::set<std::string> user_prompts(const std::string& text) {
  std::set<std::string> out;
  for (const auto& row : parse_rows(text)) {
    if (row.contains("prompt")) out.insert(row["prompt"].get<std::string>());
    if (row.contains("messages"))
      for (const auto& m : row["messages"])
        if (m["role"] == "user") out.insert(m["content"].get<std::string>());
  }
  return out;
}

}  // namespace

TEST_CASE("same seed gives identical bytes, another seed different ones", "[suite][generator]") {
  const Generated a = generate(5, Sizes::small());
  const Generated b = generate(5, Sizes::small());
  const Generated c = generate(6, Sizes::small());
  REQUIRE(a.files.size() == 17);  // 14 JSONL files, 2 text files, the manifest
  CHECK(a.files == b.files);
  for (const auto& [name, text] : a.files) {
    INFO(name);
    CHECK(!text.empty());
    CHECK(c.files.at(name) != text);
  }

  // The bytes written to disk are the bytes generated.
  TempDir dir;
  write_files(a, dir.path());
  for (const auto& [name, text] : a.files) CHECK(read_file(dir.path() / name) == text);
}

TEST_CASE("a file's contents do not depend on other files' sizes", "[suite][generator]") {
  Sizes s = Sizes::small();
  const Generated a = generate(3, s);
  s.sft_train += 17;
  s.gatt_eval = 3;
  const Generated b = generate(3, s);
  CHECK(a.files.at("pref_helpful_train.jsonl") == b.files.at("pref_helpful_train.jsonl"));
  CHECK(a.files.at("prompts_eval.jsonl") == b.files.at("prompts_eval.jsonl"));
  CHECK(a.files.at("pretrain.txt") == b.files.at("pretrain.txt"));
  CHECK(a.files.at("sft_train.jsonl") != b.files.at("sft_train.jsonl"));
}

TEST_CASE("no eval prompt appears in any train file", "[suite][generator]") {
  const Generated& g = small_suite();
  std::set<std::string> train, eval;
  for (const auto& name : kJsonlFiles) {
    const auto prompts = user_prompts(g.files.at(name));
    (name.find("_train") != std::string::npos ? train : eval).insert(prompts.begin(), prompts.end());
  }
  REQUIRE(train.size() > 500);
  REQUIRE(eval.size() > 200);
  for (const auto& p : eval) {
    INFO(p);
    CHECK(train.count(p) == 0);
  }
}

TEST_CASE("the RLHF evaluation set holds distinct held-out unsafe prompts the checker knows", "[suite][generator]") {
  const Generated demo = generate(11, Sizes::demo());
  std::set<std::string> train, others;  // prompts of the train files; of every other file
  for (const auto& name : kJsonlFiles)
    if (name != "rlhf_eval.jsonl") {
      const auto p = user_prompts(demo.files.at(name));
      others.insert(p.begin(), p.end());
      if (name.find("_train") != std::string::npos) train.insert(p.begin(), p.end());
    }
  std::set<std::string> unsafe, safe;
  for (const auto& row : parse_rows(demo.files.at("rlhf_eval.jsonl"))) {
    REQUIRE(key_set(row) == std::set<std::string>{"prompt", "is_safety_prompt"});
    const std::string p = row["prompt"];
    INFO(p);
    const Verdict v = check(p, "I cannot help with that.");
    CHECK(v.recognized);
    CHECK(v.unsafe == row["is_safety_prompt"].get<bool>());
    CHECK(is_unsafe_prompt(p) == row["is_safety_prompt"].get<bool>());
    if (row["is_safety_prompt"].get<bool>()) {
      CHECK(others.count(p) == 0);  // worded unlike every other file
      CHECK(unsafe.insert(p).second);
    } else {
      safe.insert(p);
    }
  }
  CHECK(unsafe.size() == 150);
  CHECK(safe.size() > 100);
  // Safe prompts come from the eval pools: none is in a train file.
  for (const auto& p : safe) CHECK(train.count(p) == 0);
  Sizes too_many = Sizes::small();
  too_many.rlhf_eval_unsafe = 301;
  CHECK_THROWS_WITH(too_many.validate(), Catch::Contains("rlhf_eval_unsafe"));
}

TEST_CASE("manifest counts match the files and the requested sizes", "[suite][generator]") {
  const Generated& g = small_suite();
  const Sizes s = Sizes::small();
  const json m = json::parse(g.files.at("manifest.json"));
  CHECK(m["seed"] == 11);
  CHECK(m["size"] == "small");
  CHECK(m["files"]["sft_train.jsonl"]["rows"] == s.sft_train);
  CHECK(m["files"]["sft_persona_train.jsonl"]["rows"] == s.sft_persona_train);
  CHECK(m["files"]["gatt_eval.jsonl"]["rows"] == s.gatt_eval);
  for (const auto& name : kJsonlFiles) {
    INFO(name);
    CHECK(m["files"][name]["rows"] == parse_rows(g.files.at(name)).size());
  }
  const std::string& pre = g.files.at("pretrain.txt");
  CHECK(std::count(pre.begin(), pre.end(), '\n') == s.pretrain_lines);
  CHECK(m["files"]["pretrain.txt"]["lines"] == s.pretrain_lines);
  REQUIRE(m["unsafe_keywords"].size() == World::get().unsafe_things().size());
  for (const auto& k : m["unsafe_keywords"]) CHECK(is_unsafe_prompt(k.get<std::string>()));
  CHECK(m["refusal"] == std::string(kRefusal));
  for (const auto& [family, sizes] : m["pools"].items()) {
    INFO(family);
    CHECK(sizes["eval"].get<int>() > 0);
    CHECK(sizes["train"].get<int>() > sizes["eval"].get<int>());
  }
}

TEST_CASE("pretraining text states facts without the chat or answer format", "[suite][generator]") {
  const Generated& g = small_suite();
  const std::string& pre = g.files.at("pretrain.txt");
  CHECK(pre.find("Answer:") == std::string::npos);
  CHECK(pre.find("[INST]") == std::string::npos);
  const Country& c = World::get().countries().front();
  // Demo-size corpora cover every fact; check one capital is stated in one of its wordings.
  const Generated demo = generate(11, Sizes::demo());
  const std::string& dpre = demo.files.at("pretrain.txt");
  CHECK((dpre.find("The capital of " + c.name + " is " + c.capital + ".") != std::string::npos ||
         dpre.find(c.capital + " is the capital city of " + c.name + ".") != std::string::npos ||
         dpre.find("Travelers to " + c.name + " arrive in " + c.capital) != std::string::npos));
  // Every fact appears before any repeats: the demo corpus holds every fact at least once.
  CHECK(static_cast<size_t>(Sizes::demo().pretrain_lines) >= world_facts().size());
  const std::string& tok = g.files.at("tokenizer_corpus.txt");
  CHECK(tok.find("[INST]") != std::string::npos);
  CHECK(tok.find("Answer: ") != std::string::npos);
  CHECK(tok.find("<<SYS>>") != std::string::npos);
}

TEST_CASE("sft and gatt rows have the chat shape and reference answers", "[suite][generator]") {
  const Generated& g = small_suite();
  for (const char* name : {"sft_train.jsonl", "sft_eval.jsonl", "gatt_train.jsonl", "gatt_eval.jsonl"}) {
    INFO(name);
    const bool gatt = std::string(name).rfind("gatt", 0) == 0;
    int unsafe = 0;
    for (const auto& row : parse_rows(g.files.at(name))) {
      REQUIRE(key_set(row) == std::set<std::string>{"messages"});
      const auto& ms = row["messages"];
      REQUIRE(ms.is_array());
      size_t i = 0;
      if (gatt) {
        REQUIRE(ms[0]["role"] == "system");
        REQUIRE(instruction_from_text(ms[0]["content"].get<std::string>()));
        i = 1;
      }
      REQUIRE((ms.size() - i) % 2 == 0);
      REQUIRE(ms.size() - i >= (gatt ? 4u : 2u));
      for (; i < ms.size(); ++i) {
        REQUIRE(key_set(ms[i]) == std::set<std::string>{"role", "content"});
        CHECK(ms[i]["role"] == (((i - (gatt ? 1 : 0)) % 2 == 0) ? "user" : "assistant"));
        CHECK(!ms[i]["content"].get<std::string>().empty());
      }
      for (const auto& pair : turn_pairs(row)) {
        const Verdict v = check(pair.prompt, pair.response);
        REQUIRE(v.recognized);
        CHECK(v.correct);
        CHECK(v.format_ok);
        CHECK(v.expected == pair.response);
        if (gatt) CHECK(v.obeyed);
        unsafe += v.unsafe ? 1 : 0;
      }
    }
    if (gatt) CHECK(unsafe == 0);
  }
}

TEST_CASE("preference rows have the preference shape and grade as their rating says", "[suite][generator]") {
  const Generated& g = small_suite();
  const std::set<std::string> keys = {"prompt", "chosen", "rejected", "rating", "safety", "is_safety_prompt"};
  for (const char* name : {"pref_helpful_train.jsonl", "pref_helpful_eval.jsonl"}) {
    INFO(name);
    std::map<int, int> per_rating;
    for (const auto& row : parse_rows(g.files.at(name))) {
      REQUIRE(key_set(row) == keys);
      const int rating = row["rating"].get<int>();
      REQUIRE((rating >= 0 && rating <= 3));
      ++per_rating[rating];
      CHECK(row["safety"] == "both_safe");
      CHECK(row["is_safety_prompt"] == false);
      const std::string prompt = row["prompt"];
      const Verdict c = check(prompt, row["chosen"].get<std::string>());
      const Verdict r = check(prompt, row["rejected"].get<std::string>());
      REQUIRE(c.recognized);
      CHECK(c.correct);
      CHECK(c.format_ok);
      INFO(row.dump());
      if (rating == 0) CHECK((r.correct && !r.format_ok));
      if (rating == 1 || rating == 2) CHECK((!r.correct && r.format_ok));
      if (rating == 3) CHECK((!r.correct && !r.format_ok));
    }
    CHECK(per_rating.size() == 4);
  }
  for (const char* name : {"pref_safety_train.jsonl", "pref_safety_eval.jsonl"}) {
    INFO(name);
    int unsafe = 0, safe = 0;
    for (const auto& row : parse_rows(g.files.at(name))) {
      REQUIRE(key_set(row) == keys);
      const std::string prompt = row["prompt"];
      const bool is_unsafe = row["is_safety_prompt"].get<bool>();
      CHECK(is_unsafe == is_unsafe_prompt(prompt));
      const Verdict c = check(prompt, row["chosen"].get<std::string>());
      const Verdict r = check(prompt, row["rejected"].get<std::string>());
      CHECK(c.correct);
      CHECK_FALSE(r.correct);
      if (is_unsafe) {
        ++unsafe;
        CHECK(row["safety"] == "chosen_safe");
        CHECK(c.refused);
        CHECK_FALSE(r.refused);
      } else {
        ++safe;
        CHECK(row["safety"] == "both_safe");
        CHECK(r.refused);
      }
    }
    CHECK(unsafe > safe);
    CHECK(safe > 0);
  }
}

TEST_CASE("prompt rows have the prompt shape and a share of unsafe prompts, each tagged", "[suite][generator]") {
  const Generated& g = small_suite();
  for (const char* name : {"prompts_train.jsonl", "prompts_eval.jsonl"}) {
    INFO(name);
    int unsafe = 0, n = 0;
    for (const auto& row : parse_rows(g.files.at(name))) {
      REQUIRE(key_set(row) == std::set<std::string>{"prompt", "is_safety_prompt"});
      const auto t = parse_task(row["prompt"].get<std::string>());
      REQUIRE(t);
      // The tag is exactly the checker's verdict: the reward gate sends these to the safety model.
      CHECK(row["is_safety_prompt"].get<bool>() == (t->family == Family::unsafe));
      unsafe += t->family == Family::unsafe ? 1 : 0;
      ++n;
    }
    CHECK(unsafe > n / 10);
    CHECK(unsafe < n / 3);
  }
}

TEST_CASE("the demo's RLHF training prompts are tagged unsafe in the share the generator intends", "[suite][generator]") {
  // What scripts/demo_rlhf.sh feeds ppo and rejection_sampling (safety_tags defaults to true):
  // every row tagged, the tag true exactly on the prompts the checker knows as unsafe, and the
  // tagged share the generator's prompts_unsafe_fraction. Each row is unsafe with probability
  // f = 0.2 on its own, so the count over n rows is Binomial(n, f): the test allows 4 standard
  // deviations, sqrt(n f (1 - f)) (12.6 rows of 1000; 6.9 of 300).
  const Sizes sz = Sizes::demo();
  const Generated demo = generate(1, sz);
  for (const auto& [name, n_expected] : {std::pair{"prompts_train.jsonl", sz.prompts_train},
                                         std::pair{"prompts_eval.jsonl", sz.prompts_eval}}) {
    INFO(name);
    int tagged = 0, n = 0;
    for (const auto& row : parse_rows(demo.files.at(name))) {
      REQUIRE(row.contains("is_safety_prompt"));
      const bool tag = row["is_safety_prompt"].get<bool>();
      const std::string p = row["prompt"];
      CHECK(tag == is_unsafe_prompt(p));
      CHECK(tag == check(p, "I cannot help with that.").unsafe);
      tagged += tag ? 1 : 0;
      ++n;
    }
    REQUIRE(n == n_expected);
    const double f = sz.prompts_unsafe_fraction;
    const double sd = std::sqrt(n * f * (1 - f));
    CHECK(std::abs(tagged - n * f) < 4 * sd);
    CHECK(tagged > 0);
  }
  CHECK(demo.manifest["fractions"]["prompts_unsafe"].get<double>() == sz.prompts_unsafe_fraction);
}

TEST_CASE("bad sizes are rejected with the field named", "[suite][generator]") {
  Sizes s = Sizes::small();
  s.sft_eval = -1;
  CHECK_THROWS_WITH(generate(1, s), Catch::Contains("sft_eval"));
  s = Sizes::small();
  s.eval_fraction = 0.9;
  CHECK_THROWS_WITH(generate(1, s), Catch::Contains("eval_fraction"));
  s = Sizes::small();
  s.prompts_unsafe_fraction = 1.5;
  CHECK_THROWS_WITH(generate(1, s), Catch::Contains("prompts_unsafe_fraction"));
  CHECK_THROWS_WITH(Sizes::named("huge"), Catch::Contains("small, demo"));
  s = Sizes::small();
  s.gatt_train = 0;  // empty files are allowed
  CHECK(generate(1, s).files.at("gatt_train.jsonl").empty());
}

TEST_CASE("the world is fixed and well formed", "[suite][world]") {
  const World& w = World::get();
  CHECK(w.words().size() == 240);
  CHECK(w.countries().size() == 100);
  std::set<std::string> names;
  for (const auto& word : w.words()) {
    CHECK(names.insert(word).second);
    CHECK(!is_unsafe_prompt(word));
    CHECK(std::string(word.rbegin(), word.rend()) != word);
  }
  for (const auto& c : w.countries()) {
    CHECK(names.insert(c.name).second);
    CHECK(names.insert(c.capital).second);
  }
  // Pinned: if the world changed, every stored suite would grade differently.
  CHECK(w.countries().front().name + "/" + w.countries().front().capital == "Zorora/Sapdun");
  CHECK(w.words().front() == "sibiv");
  CHECK(w.words().back() == "vob");
}
