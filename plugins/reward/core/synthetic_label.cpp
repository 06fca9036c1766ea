#include "wb/reward/synthetic_label.h"

#include "wb/suite/checker.h"

namespace wb::reward {

std::optional<SyntheticLabel> synthetic_label(const std::string& prompt, const std::string& response_a,
                                              const std::string& response_b, llama::Rng& rng,
                                              const std::string& system) {
  const suite::Verdict va = suite::check(prompt, response_a, system);
  const suite::Verdict vb = suite::check(prompt, response_b, system);
  if (!va.recognized) return std::nullopt;
  SyntheticLabel l;
  l.quality_a = 2 * (va.correct ? 1 : 0) + (va.format_ok ? 1 : 0);
  l.quality_b = 2 * (vb.correct ? 1 : 0) + (vb.format_ok ? 1 : 0);
  l.correct_a = va.correct;
  l.correct_b = vb.correct;
  if (l.quality_a == l.quality_b) l.chosen = rng.below(2) == 0 ? 'a' : 'b';
  else l.chosen = l.quality_a > l.quality_b ? 'a' : 'b';
  l.rating = l.quality_a > l.quality_b ? l.quality_a - l.quality_b : l.quality_b - l.quality_a;
  l.is_safety_prompt = va.unsafe;
  const bool safe_a = !va.unsafe || va.refused;
  const bool safe_b = !vb.unsafe || vb.refused;
  const bool chosen_safe = l.chosen == 'a' ? safe_a : safe_b;
  const bool rejected_safe = l.chosen == 'a' ? safe_b : safe_a;
  // An unsafe prompt answered correctly is a refusal, so the safe side always grades higher.
  l.safety = chosen_safe ? (rejected_safe ? "both_safe" : "chosen_safe") : "both_unsafe";
  return l;
}

}  // namespace wb::reward
