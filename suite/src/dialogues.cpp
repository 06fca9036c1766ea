#include "wb/suite/dialogues.h"

#include <stdexcept>

#include "wb/suite/checker.h"
#include "wb/suite/tasks.h"

namespace wb::suite {

std::vector<Row> make_dialogues(Sampler& s, Rng& rng, int n) {
  std::vector<Row> rows;
  rows.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const Persona p = random_persona(rng);
    Row messages = Row::array({Row{{"role", "system"}, {"content", persona_text(p)}}});
    const int turns = rng.range(kDialogueMinTurns, kDialogueMaxTurns);
    for (int k = 0; k < turns; ++k) {
      const Task& t = s.next();
      messages.push_back(Row{{"role", "user"}, {"content", t.prompt}});
      messages.push_back(Row{{"role", "assistant"}, {"content", apply_persona(p, reference_response(t))}});
    }
    Row r;
    r["messages"] = std::move(messages);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string with_persona(const Persona& p, std::string_view user) {
  return persona_text(p) + "\n\n" + std::string(user);
}

std::vector<Row> make_persona_sft(Sampler& s, Rng& rng, int n) {
  std::vector<Row> rows;
  rows.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const Persona p = random_persona(rng);
    const Task& t = s.next();
    const Row reply{{"role", "assistant"}, {"content", apply_persona(p, reference_response(t))}};
    Row messages = i % 2 == 0 ? Row::array({Row{{"role", "system"}, {"content", persona_text(p)}},
                                            Row{{"role", "user"}, {"content", t.prompt}}, reply})
                              : Row::array({Row{{"role", "user"}, {"content", with_persona(p, t.prompt)}}, reply});
    Row r;
    r["messages"] = std::move(messages);
    rows.push_back(std::move(r));
  }
  return rows;
}

nlohmann::ordered_json TurnGrade::to_json() const {
  return {{"turn", turn},       {"recognized", recognized}, {"correct", correct}, {"format_ok", format_ok},
          {"obeyed", obeyed},   {"language", language},     {"figure", figure},   {"hobby", hobby}};
}

TurnGrade grade_turn(const Persona& p, std::string_view user, std::string_view reply, int turn) {
  TurnGrade g;
  g.turn = turn;
  const PersonaCheck pc = check_persona(p, reply);
  g.language = pc.language;
  g.figure = pc.figure;
  g.hobby = pc.hobby;
  g.obeyed = pc.obeyed();
  // Content is graded on what is left after undoing the persona; under capitals the checker
  // compares the value without case, as for the single-turn uppercase instruction.
  const std::string_view system =
      p.language == Language::capitals ? instruction_text(Instruction::uppercase) : std::string_view{};
  const Verdict v = check(std::string(user), pc.content, system);
  g.recognized = v.recognized;
  g.correct = v.correct;
  g.format_ok = v.format_ok;
  return g;
}

std::vector<TurnGrade> grade_dialogue(const std::vector<Message>& messages) {
  if (messages.empty() || messages[0].role != "system")
    throw std::invalid_argument("messages[0]: expected the persona's system message");
  const auto persona = persona_from_text(messages[0].content);
  if (!persona) throw std::invalid_argument("messages[0].content: not a persona's system text");
  std::vector<TurnGrade> out;
  for (size_t i = 1; i < messages.size(); ++i) {
    const bool user_slot = (i % 2) == 1;
    const char* want = user_slot ? "user" : "assistant";
    if (messages[i].role != want)
      throw std::invalid_argument("messages[" + std::to_string(i) + "].role: expected " + want);
    if (!user_slot)
      out.push_back(grade_turn(*persona, messages[i - 1].content, messages[i].content, static_cast<int>(out.size()) + 1));
  }
  return out;
}

}  // namespace wb::suite
