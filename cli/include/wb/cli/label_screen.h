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
//   ↑ ↓ PgUp PgDn (or k j)  scroll a pair taller than the terminal
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
  int scroll = 0;           // first line of the prompt + answers shown when they do not fit
};

struct LabelScreen {
  std::vector<std::string> lines;
  int scroll = 0;      // view.scroll clamped to 0..max_scroll
  int max_scroll = 0;  // 0 when everything fits
};

// The whole screen as lines (no clear sequence): header, prompt, both answers side by side when
// width >= kSideBySideMin, stacked otherwise, then the choice line, the message and the legend.
// Every line is at most `width` code points (width >= 20 assumed). With height > 0 and more
// lines than that, the prompt + answers part is shown as a window from view.scroll, under a
// rule saying which lines are shown and how to scroll, so that the screen has `height` lines
// (or a few more on a terminal too small for the header, 3 lines of text and the footer).
inline constexpr int kSideBySideMin = 72;
LabelScreen label_screen(const LabelView& view, int width, int height = 0);

// Scroll keys: the new first line for `key` (arrows, PgUp/PgDn from tty.h, k/j), or nullopt
// when `key` is not a scroll key. `page` is the number of lines a page moves.
std::optional<int> scrolled(int scroll, int key, int page);

// The POST /v1/comparisons body for a complete choice on `pair`.
nlohmann::json comparison_body(const nlohmann::json& pair, const LabelChoice& choice, const std::string& annotator,
                               double seconds);

}  // namespace wb::cli
