// The labeling screen's content and key handling (label_screen.h).
#include "wb/cli/label_screen.h"

#include <algorithm>

#include "wb/cli/output.h"
#include "wb/cli/tty.h"
#include "wb/cli/tty_layout.h"

namespace wb::cli {

using nlohmann::json;

LabelAction apply_label_key(LabelChoice& c, int key) {
  switch (key) {
    case 'a': case 'A': c.chosen = 'a'; return LabelAction::Changed;
    case 'b': case 'B': c.chosen = 'b'; return LabelAction::Changed;
    case '1': c.rating = 3; return LabelAction::Changed;
    case '2': c.rating = 2; return LabelAction::Changed;
    case '3': c.rating = 1; return LabelAction::Changed;
    case '4': c.rating = 0; return LabelAction::Changed;
    case 's': case 'S': c.safety = "both_safe"; return LabelAction::Changed;
    case 'o': case 'O': c.safety = "chosen_safe"; return LabelAction::Changed;
    case 'u': case 'U': c.safety = "both_unsafe"; return LabelAction::Changed;
    case 'p': case 'P': c.is_safety_prompt = !c.is_safety_prompt; return LabelAction::Changed;
    case 127: case 8:  // Backspace / Ctrl-H
      c.chosen.reset();
      c.rating.reset();
      c.safety.reset();
      return LabelAction::Changed;
    case '\r': case '\n': return c.complete() ? LabelAction::Save : LabelAction::Incomplete;
    case 'n': case 'N': return LabelAction::Skip;
    case 'q': case 'Q': case 4: return LabelAction::Quit;
    default: return LabelAction::Ignored;
  }
}

std::string rating_name(int rating) {
  switch (rating) {
    case 3: return "significantly better";
    case 2: return "better";
    case 1: return "slightly better";
    default: return "negligibly better / unsure";
  }
}

std::string safety_name(const std::string& safety) {
  if (safety == "both_safe") return "both safe";
  if (safety == "chosen_safe") return "only the chosen one safe";
  return "both unsafe";
}

std::string choice_line(const LabelChoice& c) {
  std::string line = c.chosen ? std::string(*c.chosen == 'a' ? "A" : "B") + " is better" : "A or B?";
  line += " · " + (c.rating ? rating_name(*c.rating) : std::string("strength? (1-4)"));
  line += " · " + (c.safety ? safety_name(*c.safety) : std::string("safety? (s/o/u)"));
  if (c.is_safety_prompt) line += " · safety prompt";
  line += c.complete() ? " — Enter saves" : "";
  return line;
}

LabelScreen label_screen(const LabelView& v, int width, int height) {
  const auto& p = v.pair;
  auto wrapped = [&](std::vector<std::string>& out, const std::string& text) {
    for (auto& l : wrap_text(printable(text), width)) out.push_back(l);
  };
  std::vector<std::string> head, body, foot;
  head.push_back(shorten(v.header, static_cast<std::size_t>(width)));
  head.push_back(shorten("row " + std::to_string(p.value("index", std::int64_t{0})) + " · " +
                             std::to_string(p.value("remaining", std::int64_t{0})) + " unlabeled left",
                         static_cast<std::size_t>(width)));
  body.push_back(rule("Prompt", width));
  wrapped(body, p.value("prompt", ""));
  const std::string a = p.value("response_a", ""), b = p.value("response_b", "");
  for (auto& l : width >= kSideBySideMin ? side_by_side("A", a, "B", b, width) : stacked("A", a, "B", b, width))
    body.push_back(l);
  foot.push_back(rule("", width));
  wrapped(foot, choice_line(v.choice));
  if (!v.message.empty()) wrapped(foot, v.message);
  if (a == b) wrapped(foot, "the two answers are identical: n skips the pair");
  wrapped(foot, "keys: a/b better answer · 1 significantly 2 better 3 slightly 4 negligibly/unsure · "
                "s both safe, o only the chosen one safe, u both unsafe · p safety prompt · "
                "Enter save · Backspace clear · n skip · q quit");

  LabelScreen out;
  const int fixed = static_cast<int>(head.size() + foot.size());
  int window = static_cast<int>(body.size());
  if (height > 0 && fixed + window > height) {
    window = std::max(3, height - fixed - 1);  // one line for the scroll rule
    out.max_scroll = std::max(0, static_cast<int>(body.size()) - window);
    out.scroll = std::clamp(v.scroll, 0, out.max_scroll);
  }
  out.lines = head;
  const int end = std::min(static_cast<int>(body.size()), out.scroll + window);
  for (int i = out.scroll; i < end; ++i) out.lines.push_back(body[static_cast<std::size_t>(i)]);
  if (out.max_scroll > 0)
    out.lines.push_back(rule("lines " + std::to_string(out.scroll + 1) + "-" + std::to_string(end) + " of " +
                                 std::to_string(body.size()) + " · ↑↓ PgUp PgDn scroll",
                             width));
  out.lines.insert(out.lines.end(), foot.begin(), foot.end());
  return out;
}

std::optional<int> scrolled(int scroll, int key, int page) {
  switch (key) {
    case kKeyUp: case 'k': return scroll - 1;
    case kKeyDown: case 'j': return scroll + 1;
    case kKeyPageUp: return scroll - std::max(1, page);
    case kKeyPageDown: return scroll + std::max(1, page);
    default: return std::nullopt;
  }
}

json comparison_body(const json& pair, const LabelChoice& c, const std::string& annotator, double seconds) {
  json body = {{"dataset", pair.at("dataset")},
               {"prompt", pair.at("prompt")},
               {"response_a", pair.at("response_a")},
               {"response_b", pair.at("response_b")},
               {"chosen", std::string(1, c.chosen.value())},
               {"rating", c.rating.value()},
               {"safety", c.safety.value()},
               {"is_safety_prompt", c.is_safety_prompt},
               {"annotator", annotator},
               {"source", "human"},
               {"seconds", seconds}};
  for (const char* k : {"model_a", "model_b"})
    if (pair.contains(k) && pair[k].is_string()) body[k] = pair[k];
  return body;
}

}  // namespace wb::cli
