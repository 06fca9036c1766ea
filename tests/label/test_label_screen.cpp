// The labeling screen's pure parts: key handling, text layout (wrap, side by side, stacked),
// escaping model output, the screen's width limit and the comparison body it sends.
#include <catch2/catch.hpp>

#include "wb/cli/label_screen.h"
#include "wb/cli/output.h"
#include "wb/cli/tty.h"
#include "wb/cli/tty_layout.h"

using namespace wb::cli;
using nlohmann::json;

TEST_CASE("keys build a label in any order and Enter saves only a complete one", "[label][cli]") {
  LabelChoice c;
  CHECK(apply_label_key(c, '\r') == LabelAction::Incomplete);
  CHECK(apply_label_key(c, '2') == LabelAction::Changed);
  CHECK(c.rating == 2);
  CHECK(apply_label_key(c, 'u') == LabelAction::Changed);
  CHECK(apply_label_key(c, '\r') == LabelAction::Incomplete);  // no side yet
  CHECK(apply_label_key(c, 'B') == LabelAction::Changed);
  CHECK(c.complete());
  CHECK(apply_label_key(c, '\r') == LabelAction::Save);
  CHECK(*c.chosen == 'b');
  CHECK(*c.safety == "both_unsafe");

  // Strength keys: 1 significantly (3) .. 4 negligibly/unsure (0); safety keys s/o/u.
  for (auto [key, rating] : {std::pair{'1', 3}, {'2', 2}, {'3', 1}, {'4', 0}}) {
    apply_label_key(c, key);
    CHECK(c.rating == rating);
  }
  apply_label_key(c, 'o');
  CHECK(*c.safety == "chosen_safe");
  apply_label_key(c, 's');
  CHECK(*c.safety == "both_safe");

  // Backspace clears the choices (not the safety-prompt flag); p toggles that flag.
  apply_label_key(c, 'p');
  CHECK(c.is_safety_prompt);
  CHECK(apply_label_key(c, 127) == LabelAction::Changed);
  CHECK_FALSE(c.chosen);
  CHECK_FALSE(c.rating);
  CHECK_FALSE(c.safety);
  CHECK(c.is_safety_prompt);

  CHECK(apply_label_key(c, 'n') == LabelAction::Skip);
  CHECK(apply_label_key(c, 'q') == LabelAction::Quit);
  CHECK(apply_label_key(c, 4) == LabelAction::Quit);  // Ctrl-D
  CHECK(apply_label_key(c, 'z') == LabelAction::Ignored);
}

TEST_CASE("the choice line says what is chosen and what is missing", "[label][cli]") {
  LabelChoice c;
  CHECK(choice_line(c) == "A or B? · strength? (1-4) · safety? (s/o/u)");
  c.chosen = 'a';
  c.rating = 0;
  CHECK(choice_line(c) == "A is better · negligibly better / unsure · safety? (s/o/u)");
  c.safety = "chosen_safe";
  c.is_safety_prompt = true;
  CHECK(choice_line(c) == "A is better · negligibly better / unsure · only the chosen one safe · safety prompt — Enter saves");
}

TEST_CASE("wrap_text breaks at spaces, cuts long words and keeps newlines", "[label][cli]") {
  CHECK(wrap_text("", 10) == std::vector<std::string>{""});
  CHECK(wrap_text("the quick brown fox", 10) == std::vector<std::string>{"the quick", "brown fox"});
  CHECK(wrap_text("abcdefghijkl", 5) == std::vector<std::string>{"abcde", "fghij", "kl"});
  CHECK(wrap_text("a\n\nb", 5) == std::vector<std::string>{"a", "", "b"});
  // Widths are code points: "é" is one column.
  CHECK(wrap_text("café café", 4) == std::vector<std::string>{"café", "café"});
  for (const auto& l : wrap_text("lorem ipsum dolor sit amet, consectetur adipiscing elit sed do", 7))
    CHECK(display_width(l) <= 7);
}

TEST_CASE("printable removes what could drive the terminal", "[label][cli]") {
  CHECK(printable("ok\x1b[2Jx") == "ok?[2Jx");
  CHECK(printable("a\tb\r\nc\x7f") == "a  b\nc?");
  CHECK(printable("\xC2\x9B" "31m") == "?31m");  // C1 CSI
  CHECK(printable("é ✓") == "é ✓");
}

TEST_CASE("side by side fits the width, stacked puts B under A", "[label][cli]") {
  auto lines = side_by_side("A", "first answer is here", "B", "second", 31);
  REQUIRE(lines.size() >= 2);
  CHECK(lines[0].find("┬") != std::string::npos);
  for (auto& l : lines) CHECK(display_width(l) <= 31);
  CHECK(lines[1].find("first") == 0);
  CHECK(lines[1].find("│ second") != std::string::npos);

  auto st = stacked("A", "one", "B", "two", 20);
  REQUIRE(st.size() == 4);
  CHECK(st[0] == rule("A", 20));
  CHECK(display_width(st[0]) == 20);
  CHECK(st[1] == "one");
  CHECK(st[2] == rule("B", 20));
  CHECK(st[3] == "two");
}

TEST_CASE("the label screen is side by side when wide, stacked when narrow, never wider", "[label][cli]") {
  LabelView v;
  v.pair = {{"dataset", "pref"},   {"index", 4},        {"remaining", 7},
            {"prompt", "Why is the sky blue? Explain it to a child in two sentences."},
            {"response_a", "Because sunlight scatters off air, and blue light scatters the most."},
            {"response_b", "It reflects the ocean.\x1b[31m"}};
  v.header = "wb label · prompts → pref · annotator alice · 0 labeled, 0 skipped";
  for (int width : {100, 50, 24}) {
    auto screen = label_screen(v, width);
    CHECK(screen.max_scroll == 0);
    const auto& lines = screen.lines;
    std::string all;
    for (auto& l : lines) {
      CHECK(display_width(l) <= static_cast<std::size_t>(width));
      all += l + "\n";
    }
    CHECK(all.find("row 4 · 7 unlabeled left") != std::string::npos);
    CHECK(all.find("A or B?") != std::string::npos);
    CHECK(all.find('\x1b') == std::string::npos);  // model output cannot emit escapes
    CHECK((all.find("┬") != std::string::npos) == (width >= kSideBySideMin));
    CHECK(all.find("identical") == std::string::npos);
  }
  v.pair["response_b"] = v.pair["response_a"];
  std::string same;
  for (auto& l : label_screen(v, 80).lines) same += l + "\n";
  CHECK(same.find("the two answers are identical: n skips the pair") != std::string::npos);
}

TEST_CASE("comparison_body carries the pair, the choice and who labeled it", "[label][cli]") {
  json pair = {{"dataset", "pref"}, {"prompt", "p"}, {"response_a", "x"}, {"response_b", "y"},
               {"model_a", "m@T=1.2"}, {"model_b", "m@T=0.7"}, {"index", 3}, {"remaining", 2}};
  LabelChoice c;
  c.chosen = 'b';
  c.rating = 1;
  c.safety = "both_safe";
  json body = comparison_body(pair, c, "alice", 2.5);
  CHECK(body == json{{"dataset", "pref"}, {"prompt", "p"}, {"response_a", "x"}, {"response_b", "y"},
                     {"chosen", "b"}, {"rating", 1}, {"safety", "both_safe"}, {"is_safety_prompt", false},
                     {"annotator", "alice"}, {"source", "human"}, {"seconds", 2.5},
                     {"model_a", "m@T=1.2"}, {"model_b", "m@T=0.7"}});
}

TEST_CASE("a pair taller than the terminal is shown as a scrollable window", "[label][cli]") {
  LabelView v;
  std::string longer;
  for (int i = 0; i < 60; ++i) longer += "word" + std::to_string(i) + " ";
  v.pair = {{"dataset", "pref"}, {"index", 0}, {"remaining", 1}, {"prompt", "p"},
            {"response_a", longer}, {"response_b", "short"}};
  v.header = "header";
  const int height = 24;
  LabelScreen top = label_screen(v, 30, height);
  REQUIRE(top.max_scroll > 0);
  CHECK(top.scroll == 0);
  CHECK(static_cast<int>(top.lines.size()) == height);
  CHECK(top.lines[2] == rule("Prompt", 30));  // the window starts at the top of the body
  std::string all;
  for (auto& l : top.lines) all += l + "\n";
  CHECK(all.find("lines 1-") != std::string::npos);
  CHECK(all.find("A or B?") != std::string::npos);  // the footer always stays
  CHECK(all.find("short") == std::string::npos);     // B is below the window

  v.scroll = 1000;  // clamped to the end: B's last line is visible
  LabelScreen bottom = label_screen(v, 30, height);
  CHECK(bottom.scroll == bottom.max_scroll);
  all.clear();
  for (auto& l : bottom.lines) all += l + "\n";
  CHECK(all.find("short") != std::string::npos);
  CHECK(static_cast<int>(bottom.lines.size()) == height);

  CHECK(scrolled(5, kKeyUp, 8) == 4);
  CHECK(scrolled(5, 'j', 8) == 6);
  CHECK(scrolled(5, kKeyPageDown, 8) == 13);
  CHECK(scrolled(5, kKeyPageUp, 8) == -3);  // the caller clamps
  CHECK_FALSE(scrolled(5, 'a', 8));
}
