// Persona dialogues: the system instructions, the reference replies and the per-turn grading of
// content and adherence.
#include <catch2/catch.hpp>

#include <set>

#include "suite_test_util.h"
#include "wb/suite/dialogues.h"
#include "wb/suite/generator.h"
#include "wb/suite/persona.h"
#include "wb/suite/tasks.h"

using namespace wb::suite;
using wb::suite::testing::parse_rows;

namespace {

const Generated& suite_files() {
  static const Generated g = generate(5, Sizes::small());
  return g;
}

}  // namespace

TEST_CASE("persona replies are built and read back exactly", "[suite][dialogues]") {
  const Persona cf{Language::cipher, "Mirela", "", false};
  CHECK(apply_persona(cf, "Answer: 27") == "Njsfmb: Botxfs: 27");
  CHECK(shift_cipher("zebra Z") == "afcsb A");
  CHECK(shift_decipher(shift_cipher("Answer: kelo")) == "Answer: kelo");
  const Persona ch{Language::capitals, "", "sailing", true};
  CHECK(apply_persona(ch, "Answer: olek") == "ANSWER: OLEK\nI LOVE SAILING.");
  CHECK(persona_text(ch) == "Language: capitals, Hobby: sailing");
  const Persona fh{Language::none, "Dovan", "chess", false};
  CHECK(persona_text(fh) == "Always act as Dovan from now: begin every answer with 'Dovan:'. "
                            "You love chess: mention chess in every answer.");
  for (const Persona& p : {cf, ch, fh}) {
    INFO(persona_text(p));
    const auto back = persona_from_text("  " + persona_text(p) + "\n");
    REQUIRE(back);
    CHECK(*back == p);
  }
  CHECK_FALSE(persona_from_text("Figure: Napoleon"));
  CHECK_FALSE(persona_from_text(""));
  CHECK_FALSE(persona_from_text("Always answer in uppercase."));
}

TEST_CASE("each kind of a persona is graded apart from the content", "[suite][dialogues]") {
  const Task t = make_add(23, 4);
  const Persona cf{Language::cipher, "Mirela", "", true};
  auto g = grade_turn(cf, t.prompt, "Njsfmb: Botxfs: 27");
  CHECK((g.recognized && g.correct && g.format_ok && g.obeyed));
  g = grade_turn(cf, t.prompt, "Njsfmb: Botxfs: 28");  // obeys, wrong value
  CHECK((g.obeyed && !g.correct && g.format_ok));
  g = grade_turn(cf, t.prompt, "Mirela: Answer: 27");  // forgot the cipher
  CHECK((!g.language && g.figure && !g.obeyed && g.correct && g.format_ok));
  g = grade_turn(cf, t.prompt, "Botxfs: 27");  // forgot the figure
  CHECK((g.language && !g.figure && !g.obeyed && g.correct));
  g = grade_turn(cf, t.prompt, "Answer: 27");  // plain reply: content right, persona lost
  CHECK((!g.language && !g.figure && g.correct && g.format_ok));

  const Persona ch{Language::capitals, "", "sailing", false};
  g = grade_turn(ch, t.prompt, "ANSWER: 27\nI LOVE SAILING.");
  CHECK((g.obeyed && g.correct && g.format_ok));
  g = grade_turn(ch, t.prompt, "ANSWER: 27");
  CHECK((g.language && !g.hobby && !g.obeyed && g.correct));
  g = grade_turn(ch, t.prompt, "Answer: 27\nI love sailing.");
  CHECK((!g.language && g.hobby && g.correct));
  const Task r = make_reverse("kelo");
  g = grade_turn(ch, r.prompt, "ANSWER: OLEK\nI LOVE SAILING.");  // value compared without case
  CHECK((g.obeyed && g.correct));
  g = grade_turn(ch, "Tell me a story.", "ONCE. I LOVE SAILING.");
  CHECK((!g.recognized && g.obeyed));
}

TEST_CASE("generated dialogues have 2 to 8 turns under two-kind personas and grade perfectly", "[suite][dialogues]") {
  for (const char* name : {"dialogues_train.jsonl", "dialogues_eval.jsonl"}) {
    INFO(name);
    const auto rows = parse_rows(suite_files().files.at(name));
    REQUIRE(rows.size() >= 40);
    std::set<int> turn_counts;
    std::set<std::string> kind_pairs;
    int short_forms = 0, cipher = 0, capitals = 0;
    for (const auto& row : rows) {
      const auto msgs = messages_from_row(row);
      const auto persona = persona_from_text(msgs.at(0).content);
      REQUIRE(persona);
      CHECK(persona->kinds() == 2);
      kind_pairs.insert(std::string(persona->language != Language::none ? "L" : "") +
                        (persona->figure.empty() ? "" : "F") + (persona->hobby.empty() ? "" : "H"));
      short_forms += persona->short_form ? 1 : 0;
      cipher += persona->language == Language::cipher ? 1 : 0;
      capitals += persona->language == Language::capitals ? 1 : 0;
      const auto grades = grade_dialogue(msgs);
      turn_counts.insert(static_cast<int>(grades.size()));
      CHECK(grades.size() >= 2);
      CHECK(grades.size() <= 8);
      for (const auto& g : grades) {
        INFO(row.dump());
        CHECK((g.recognized && g.correct && g.format_ok && g.obeyed));
      }
    }
    CHECK(kind_pairs == std::set<std::string>{"LF", "LH", "FH"});
    CHECK(turn_counts.count(2) == 1);
    CHECK(turn_counts.count(8) == 1);
    CHECK(short_forms > static_cast<int>(rows.size()) / 4);
    CHECK(short_forms < static_cast<int>(rows.size()) * 3 / 4);
    CHECK(cipher > 0);
    CHECK(capitals > 0);
  }
}

TEST_CASE("grade_dialogue refuses a dialogue without a persona", "[suite][dialogues]") {
  const std::vector<Message> no_system = {{"user", "What is 2 + 3?"}, {"assistant", "Answer: 5"}};
  CHECK_THROWS_WITH(grade_dialogue(no_system), Catch::Contains("messages[0]"));
  const std::vector<Message> unknown = {{"system", "Be nice."}, {"user", "What is 2 + 3?"}, {"assistant", "Answer: 5"}};
  CHECK_THROWS_WITH(grade_dialogue(unknown), Catch::Contains("messages[0].content"));
  const std::vector<Message> bad_roles = {{"system", "Figure: Telu, Hobby: chess"}, {"assistant", "Answer: 5"}};
  CHECK_THROWS_WITH(grade_dialogue(bad_roles), Catch::Contains("messages[1].role"));
}

TEST_CASE("sft_persona_train holds single-turn rows that carry a persona in the turn answered, and obey it", "[suite][dialogues]") {
  const Sizes s = Sizes::small();
  REQUIRE(s.sft_persona_train > 0);
  const auto rows = parse_rows(suite_files().files.at("sft_persona_train.jsonl"));
  REQUIRE(rows.size() == static_cast<size_t>(s.sft_persona_train));
  int in_system = 0, in_user = 0;
  std::set<std::string> figures, hobbies;
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& ms = rows[i]["messages"];
    INFO(ms.dump());
    std::optional<Persona> p;
    std::string user;
    if (ms.size() == 3) {  // {system, user, assistant}
      REQUIRE(ms[0]["role"] == "system");
      p = persona_from_text(ms[0]["content"].get<std::string>());
      user = ms[1]["content"];
      ++in_system;
    } else {  // {user: "<persona>\n\n<task>", assistant}
      REQUIRE(ms.size() == 2);
      const std::string u = ms[0]["content"];
      const size_t cut = u.find("\n\n");
      REQUIRE(cut != std::string::npos);
      p = persona_from_text(u.substr(0, cut));
      user = u.substr(cut + 2);
      CHECK(u == with_persona(*p, user));
      ++in_user;
    }
    REQUIRE(p.has_value());
    CHECK(p->kinds() == 2);
    if (!p->figure.empty()) figures.insert(p->figure);
    if (!p->hobby.empty()) hobbies.insert(p->hobby);
    const TurnGrade g = grade_turn(*p, user, ms.back()["content"].get<std::string>());
    CHECK(g.obeyed);
    CHECK(g.recognized);
    CHECK(g.correct);
  }
  CHECK(in_system == s.sft_persona_train / 2);
  CHECK(in_user == s.sft_persona_train - s.sft_persona_train / 2);
  CHECK(figures.size() == persona_figures().size());
  CHECK(hobbies.size() == persona_hobbies().size());
}
