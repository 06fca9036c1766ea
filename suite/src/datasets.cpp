#include "wb/suite/datasets.h"

#include <stdexcept>

#include "wb/suite/checker.h"
#include "wb/suite/world.h"

namespace wb::suite {
namespace {

Row message(const char* role, const std::string& content) {
  Row m;
  m["role"] = role;
  m["content"] = content;
  return m;
}

Row pref_row(const std::string& prompt, const std::string& chosen, const std::string& rejected,
             int rating, const char* safety, bool is_safety_prompt) {
  Row r;
  r["prompt"] = prompt;
  r["chosen"] = chosen;
  r["rejected"] = rejected;
  r["rating"] = rating;
  r["safety"] = safety;
  r["is_safety_prompt"] = is_safety_prompt;
  return r;
}

// Swap two adjacent, different letters of s at a random place (never moving a leading capital);
// s unchanged when no such pair exists.
std::string swap_adjacent(std::string s, Rng& rng) {
  std::vector<size_t> spots;
  const size_t first = !s.empty() && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'a' ? 1 : 0;
  for (size_t i = first; i + 1 < s.size(); ++i)
    if (s[i] != s[i + 1]) spots.push_back(i);
  if (spots.empty()) return s;
  const size_t i = rng.pick(spots);
  std::swap(s[i], s[i + 1]);
  return s;
}

std::string near_miss(const Task& t, Rng& rng) {
  switch (t.family) {
    case Family::add:
    case Family::length: {
      const long long v = std::stoll(t.answer);
      return std::to_string(v == 0 || rng.chance(0.5) ? v + 1 : v - 1);
    }
    default: return swap_adjacent(t.answer, rng);
  }
}

std::string far_wrong(const Task& t, Rng& rng) {
  const World& w = World::get();
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::string v;
    switch (t.family) {
      case Family::add: v = std::to_string(rng.range(0, 2 * w.add_max())); break;
      case Family::length: v = std::to_string(rng.range(1, 9)); break;
      case Family::reverse: v = make_reverse(rng.pick(w.words())).answer; break;
      case Family::upper: v = make_upper(rng.pick(w.words())).answer; break;
      case Family::capital: v = rng.pick(w.countries()).capital; break;
      case Family::unsafe: return "";
    }
    if (t.family == Family::add || t.family == Family::length) {
      if (std::llabs(std::stoll(v) - std::stoll(t.answer)) >= 2) return v;
    } else if (v != t.answer) {
      return v;
    }
  }
  throw std::logic_error("far_wrong: no wrong answer found for '" + t.prompt + "'");
}

std::string no_answer(const Task& t, Rng& rng) {
  const World& w = World::get();
  std::string v;
  switch (rng.below(3)) {
    case 0: v = "I do not know."; break;
    case 1: v = t.prompt; break;
    default: v = "The weather in " + rng.pick(w.countries()).capital + " is mild today."; break;
  }
  // An echoed "What is 0 + 28?" ends in the right number; such text would not be a wrong answer.
  return check(t.prompt, v).correct ? "I do not know." : v;
}

// Throws when a built pair does not grade the way its rating claims.
void verify_helpful(const Task& t, const std::string& chosen, const std::string& rejected, int rating) {
  const Verdict c = check(t.prompt, chosen);
  const Verdict r = check(t.prompt, rejected);
  bool ok = c.correct && c.format_ok;
  if (rating == 0) ok = ok && r.correct && !r.format_ok;
  if (rating == 1 || rating == 2) ok = ok && !r.correct && r.format_ok;
  if (rating == 3) ok = ok && !r.correct && !r.format_ok;
  if (!ok)
    throw std::logic_error("helpfulness pair for '" + t.prompt + "' (rating " + std::to_string(rating) +
                           ") grades inconsistently: rejected '" + rejected + "'");
}

}  // namespace

Row sft_row(const Task& t) {
  Row r;
  r["messages"] = Row::array({message("user", t.prompt), message("assistant", reference_response(t))});
  return r;
}

Row prompt_row(const Task& t) {
  Row r;
  r["prompt"] = t.prompt;
  r["is_safety_prompt"] = t.family == Family::unsafe;
  return r;
}

std::string helpful_rejection(const Task& t, int rating, Rng& rng) {
  switch (rating) {
    case 3: return no_answer(t, rng);
    case 2: return "Answer: " + far_wrong(t, rng);
    case 1: return "Answer: " + near_miss(t, rng);
    case 0:
      switch (rng.below(3)) {
        case 0: return "The answer is " + t.answer + ".";
        case 1: return t.answer;
        default: return "answer: " + t.answer;
      }
  }
  throw std::invalid_argument("rating must be 0..3");
}

std::vector<Row> make_sft(Sampler& s, Rng& rng, int n, double unsafe_fraction) {
  std::vector<Row> rows;
  for (int i = 0; i < n; ++i)
    rows.push_back(sft_row(rng.chance(unsafe_fraction) ? s.next(Family::unsafe) : s.next()));
  return rows;
}

std::vector<Row> make_prompts(Sampler& s, Rng& rng, int n, double unsafe_fraction) {
  std::vector<Row> rows;
  for (int i = 0; i < n; ++i)
    rows.push_back(prompt_row(rng.chance(unsafe_fraction) ? s.next(Family::unsafe) : s.next()));
  return rows;
}

std::vector<Row> make_rlhf_eval(Sampler& s, Rng& rng, int n_safe, int n_unsafe) {
  std::vector<Task> unsafe = heldout_unsafe_tasks();
  if (n_unsafe < 0 || static_cast<size_t>(n_unsafe) > unsafe.size())
    throw std::invalid_argument("rlhf_eval_unsafe: " + std::to_string(n_unsafe) + " is out of range 0.." +
                                std::to_string(unsafe.size()) + " (the held-out unsafe prompts)");
  rng.shuffle(unsafe);
  std::vector<Row> rows;
  for (int i = 0; i < n_safe; ++i) rows.push_back(prompt_row(s.next()));
  for (int i = 0; i < n_unsafe; ++i) rows.push_back(prompt_row(unsafe[static_cast<size_t>(i)]));
  rng.shuffle(rows);
  return rows;
}

std::vector<Row> make_pref_helpful(Sampler& s, Rng& rng, int n) {
  std::vector<Row> rows;
  for (int i = 0; i < n; ++i) {
    const Task& t = s.next();
    const int rating = 3 - i % 4;
    const std::string rejected = helpful_rejection(t, rating, rng);
    const std::string chosen = reference_response(t);
    verify_helpful(t, chosen, rejected, rating);
    rows.push_back(pref_row(t.prompt, chosen, rejected, rating, "both_safe", false));
  }
  return rows;
}

std::vector<Row> make_pref_safety(Sampler& s, Rng& rng, int n, double unsafe_fraction) {
  std::vector<Row> rows;
  for (int i = 0; i < n; ++i) {
    if (rng.chance(unsafe_fraction)) {
      const Task& t = s.next(Family::unsafe);
      const int variant = static_cast<int>(rng.below(2));
      rows.push_back(pref_row(t.prompt, std::string(kRefusal), unsafe_compliance(t, variant),
                              variant == 0 ? 3 : 2, "chosen_safe", true));
    } else {
      const Task& t = s.next();
      rows.push_back(pref_row(t.prompt, reference_response(t), std::string(kRefusal), 2, "both_safe", false));
    }
  }
  return rows;
}

std::vector<Row> make_gatt(Sampler& s, Rng& rng, int n) {
  std::vector<Row> rows;
  const auto& instructions = all_instructions();
  for (int i = 0; i < n; ++i) {
    const Instruction ins = instructions[i % instructions.size()];
    Row messages = Row::array({message("system", std::string(instruction_text(ins)))});
    const int turns = rng.range(2, 4);
    for (int k = 0; k < turns; ++k) {
      const Task& t = s.next();
      messages.push_back(message("user", t.prompt));
      messages.push_back(message("assistant", reference_response(t, ins)));
    }
    Row r;
    r["messages"] = std::move(messages);
    rows.push_back(std::move(r));
  }
  return rows;
}

}  // namespace wb::suite
