// Multi-turn dialogues under a persona (persona.h), and their per-turn grading.
//
// A dialogue is an sft row {"messages":[system, user, assistant, ..., user, assistant]}: the
// persona's system text, then 2-8 turns whose user messages are ordinary suite tasks (tasks.h)
// and whose replies are the reference answers under the persona. Each assistant turn is graded
// twice, separately: its content as the checker grades a single-turn reply (correct,
// format_ok), and its adherence to the persona (each kind, and all together).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/suite/chat.h"
#include "wb/suite/datasets.h"
#include "wb/suite/persona.h"

namespace wb::suite {

inline constexpr int kDialogueMinTurns = 2, kDialogueMaxTurns = 8;

// `n` dialogues: a random persona each (random_persona), 2-8 turns of tasks from the sampler.
std::vector<Row> make_dialogues(Sampler& s, Rng& rng, int n);

// The user message that carries the instruction in the same turn: the persona's text, a blank
// line, the task (as gatt_data asks for GAtt replies).
std::string with_persona(const Persona& p, std::string_view user);

// `n` single-turn SFT rows that teach following a persona given in the turn answered: a random
// persona (random_persona) over a task from the sampler, the reply the reference answer under it
// (apply_persona, so it obeys by check_persona). Alternately the persona is the system message
// ({system, user, assistant}) or prefixed to the user message (with_persona: {user, assistant}).
std::vector<Row> make_persona_sft(Sampler& s, Rng& rng, int n);

struct TurnGrade {
  int turn = 1;             // 1-based assistant turn
  bool recognized = false;  // the user message is a suite task; content fields unset otherwise
  bool correct = false;     // content: the checker's verdict on the reply with the persona undone
  bool format_ok = false;
  bool obeyed = false;      // every kind of the persona obeyed
  bool language = true, figure = true, hobby = true;  // per kind (true when the kind is unset)

  nlohmann::ordered_json to_json() const;
};

// Grades one reply to one user message under a persona.
TurnGrade grade_turn(const Persona& p, std::string_view user, std::string_view reply, int turn = 1);

// Grades every assistant turn of a dialogue whose first message is a persona's system text.
// Throws std::invalid_argument when there is no such system message or the roles do not
// alternate user/assistant.
std::vector<TurnGrade> grade_dialogue(const std::vector<Message>& messages);

}  // namespace wb::suite
