// tty_layout.h — laying text out in terminal columns (pure functions, unit-tested).
//
// Widths count UTF-8 code points (display_width in output.h); text from a model is made safe to
// print first (control characters would move the cursor or change colours).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wb::cli {

// Replaces control characters (C0 except '\n', DEL, and C1 code points) with '?' and tabs with
// two spaces, so the text cannot drive the terminal. '\r' is dropped.
std::string printable(std::string_view text);

// Word-wraps `text` (already printable) to lines of at most `width` code points (width >= 1):
// breaks at spaces, cuts words longer than a line, keeps explicit newlines and blank lines.
// An empty text gives one empty line.
std::vector<std::string> wrap_text(std::string_view text, int width);

// `line` padded with spaces to `width` code points (unchanged when already that wide).
std::string pad_to(std::string_view line, int width);

// Two texts under their titles, side by side in two columns separated by " │ ", total width
// `width`; the shorter column is padded with blank lines. Needs width >= 2 * 10 + 3.
std::vector<std::string> side_by_side(std::string_view title_a, std::string_view a, std::string_view title_b,
                                      std::string_view b, int width);

// The same two texts one above the other (for narrow terminals), each under a title rule.
std::vector<std::string> stacked(std::string_view title_a, std::string_view a, std::string_view title_b,
                                 std::string_view b, int width);

// A title centred in a rule of '─' `width` code points wide: "──── A ────".
std::string rule(std::string_view title, int width);

}  // namespace wb::cli
