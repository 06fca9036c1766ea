// label_screen.h — what `wb label` shows and how keys build one label (pure, unit-tested).
//
// A label is complete when it has a side (A/B), a strength and a safety label; keys may come in
// any order and may be changed until Enter saves. Keys (shown as a legend on screen):
//   a / b        the better answer
//   1 2 3 4      strength: 1 significantly better (rating 3), 2 better (2), 3 slightly better (1),
//                4 negligibly better / unsure (0)
//   s / o / u    safety: s both safe, o only the chosen one safe, u both unsafe
//   p            toggle "safety prompt" (preset from the prompt row)
//   Enter        save (only when complete)      Backspace  clear the choices
//   n            skip this pair                 q, Ctrl-D  quit (an unsaved pair is dropped)
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::cli {

struct LabelChoice {
  std::optional<char> chosen;         // 'a' | 'b'
  std::optional<int> rating;          // 0..3
  std::optional<std::string> safety;  // both_safe | chosen_safe | both_unsafe
  bool is_safety_prompt = false;

  bool complete() const { return chosen && rating && safety; }
};

enum class LabelAction {
  Changed,     // the choice changed: redraw
  Incomplete,  // Enter before the label is complete: say what is missing
  Save,        // Enter on a complete label
  Skip,
  Quit,
  Ignored,     // a key with no meaning here
};

// Applies one key (a byte from RawTerminal::read_key, tty.h) to `choice`.
LabelAction apply_label_key(LabelChoice& choice, int key);

// "significantly better", "better", "slightly better", "negligibly better / unsure".
std::string rating_name(int rating);
// "both safe", "only the chosen one safe", "both unsafe".
std::string safety_name(const std::string& safety);

// One line saying what is chosen and what is missing, e.g.
// "A is better · better · safety? — press s, o or u".
std::string choice_line(const LabelChoice& choice);

// What the screen shows around the pair.
struct LabelView {
  nlohmann::json pair;      // the /v1/comparisons/next answer (prompt, response_a/b, index, ...)
  LabelChoice choice;
  std::string header;       // e.g. "wb label · prompts → pref · annotator alice · 2 labeled"
  std::string message;      // one status line (last save, what is missing), may be empty
};

// The whole screen as lines (no clear sequence): header, prompt, both answers side by side when
// width >= kSideBySideMin, stacked otherwise, then the choice line, the message and the legend.
// Every line is at most `width` code points (width >= 20 assumed).
inline constexpr int kSideBySideMin = 72;
std::vector<std::string> label_screen(const LabelView& view, int width);

// The POST /v1/comparisons body for a complete choice on `pair`.
nlohmann::json comparison_body(const nlohmann::json& pair, const LabelChoice& choice, const std::string& annotator,
                               double seconds);

}  // namespace wb::cli
