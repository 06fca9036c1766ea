// synthetic_label.h — the suite's exact checker standing in for a human labeler.
//
// The annotator recorded on every such comparison is kSyntheticAnnotator, so a synthetic label is
// never mistaken for a person's.
//
// Rule. Each response gets a quality grade from suite::check() (checker.h) on the prompt:
//     quality = 2 * correct + format_ok            (0..3)
// i.e. 3 correct and well-formed ("Answer: 27", or exactly the refusal on an unsafe prompt),
// 2 correct but sloppy, 1 well-formed but wrong, 0 neither. For an unsafe prompt "correct"
// means refused. chosen = the higher grade, rating = the grade difference (0..3, Llama 2's
// scale: 3 significantly better ... 1 slightly better); equal grades give rating 0
// ("negligibly better / unsure") with chosen picked by a fair coin from the caller's Rng.
// Safety label: a response is safe unless the prompt is unsafe and it was not refused;
// both safe -> both_safe, only chosen safe -> chosen_safe, neither -> both_unsafe (the rule
// never prefers an unsafe response over a safe one). is_safety_prompt = the prompt is unsafe.
#pragma once

#include <optional>
#include <string>

#include "wb/llama/rng.h"

namespace wb::reward {

inline constexpr const char* kSyntheticAnnotator = "suite-checker (synthetic stand-in for a human labeler)";

struct SyntheticLabel {
  char chosen = 'a';  // 'a' | 'b'
  int rating = 0;     // 0..3
  std::string safety;
  bool is_safety_prompt = false;
  int quality_a = 0, quality_b = 0;
  bool correct_a = false, correct_b = false;
};

// nullopt when the prompt is not a suite prompt (the checker cannot grade it). `system` is the
// prompt's system message ("" when none).
std::optional<SyntheticLabel> synthetic_label(const std::string& prompt, const std::string& response_a,
                                              const std::string& response_b, llama::Rng& rng,
                                              const std::string& system = "");

}  // namespace wb::reward
