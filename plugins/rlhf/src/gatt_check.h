// gatt_check.h — the suite's checker on gatt_data's sampled replies: whether a reply obeys the
// dialogue's persona, and which of several candidates for one turn the job keeps.
//
// The paper samples GAtt data from a model that obeys the instruction concatenated to the user
// turn; a reply that does not obey would teach the opposite. So for a dialogue whose instruction
// is one of the suite's personas (wb/suite/persona.h), gatt_data grades each greedy reply and,
// when it does not obey, draws more candidates and keeps the best (best_candidate); a turn with
// no obeying candidate ends the dialogue before it. Other instructions are not checkable: their
// replies are kept as sampled.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "wb/suite/dialogues.h"

namespace wb::rlhf {

// The persona whose system text the instruction is; nullopt when it is none of the suite's.
std::optional<suite::Persona> gatt_persona(const std::string& instruction);

// The reply graded under the persona: adherence (each kind) and content (the user message a suite task).
suite::TurnGrade grade_gatt_reply(const suite::Persona& p, const std::string& user, const std::string& reply);

// Index of the candidate to keep: the highest score, 2 for obeying the persona plus 1 for a
// correct answer, the earliest on ties. Throws std::invalid_argument when there is none.
size_t best_candidate(const suite::Persona& p, const std::string& user, const std::vector<std::string>& candidates);

}  // namespace wb::rlhf
