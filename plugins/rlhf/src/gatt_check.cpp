#include "gatt_check.h"

#include <stdexcept>

namespace wb::rlhf {

std::optional<suite::Persona> gatt_persona(const std::string& instruction) {
  return suite::persona_from_text(instruction);
}

suite::TurnGrade grade_gatt_reply(const suite::Persona& p, const std::string& user, const std::string& reply) {
  return suite::grade_turn(p, user, reply);
}

size_t best_candidate(const suite::Persona& p, const std::string& user, const std::vector<std::string>& candidates) {
  if (candidates.empty()) throw std::invalid_argument("best_candidate: no candidates");
  size_t best = 0;
  int best_score = -1;
  for (size_t i = 0; i < candidates.size(); ++i) {
    const suite::TurnGrade g = grade_gatt_reply(p, user, candidates[i]);
    const int score = (g.obeyed ? 2 : 0) + (g.correct ? 1 : 0);
    if (score > best_score) best = i, best_score = score;
  }
  return best;
}

}  // namespace wb::rlhf
