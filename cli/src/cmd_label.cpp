// wb label — the interactive labeling screen (GET /v1/comparisons/next, POST /v1/comparisons),
// and wb label stats (GET /v1/comparisons/stats).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/label_screen.h"
#include "wb/cli/output.h"
#include "wb/cli/tty.h"

namespace wb::cli {
namespace {

using nlohmann::json;

struct LabelOpts {
  std::string prompts, model, a, b, temperatures, into, annotator;
  int seed = 0, max_tokens = 256;
  bool per_annotator = false;
};

std::string annotator_of(const LabelOpts& o) {
  if (!o.annotator.empty()) return o.annotator;
  const char* u = std::getenv("USER");
  if (u && *u) return u;
  throw UsageError("no annotator: $USER is not set; pass --annotator NAME");
}

std::string next_target(const LabelOpts& o, const std::string& annotator, std::int64_t after) {
  std::string t = "/v1/comparisons/next?prompts=" + url_encode(o.prompts) + "&into=" + url_encode(o.into) +
                  "&model=" + url_encode(o.model) + "&seed=" + std::to_string(o.seed) +
                  "&max_tokens=" + std::to_string(o.max_tokens) + "&after=" + std::to_string(after);
  if (!o.a.empty()) t += "&a=" + url_encode(o.a);
  if (!o.b.empty()) t += "&b=" + url_encode(o.b);
  if (!o.temperatures.empty()) t += "&temperatures=" + url_encode(o.temperatures);
  if (o.per_annotator) t += "&annotator=" + url_encode(annotator);
  return t;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

struct Session {
  int labeled = 0, skipped = 0;
  bool finished = false;  // every prompt labeled (not quit)
};

// The screen loop; returns when the labeler quits or nothing is left. Each label is POSTed the
// moment Enter confirms it; a pair left before that stores nothing.
Session label_loop(const Context& ctx, const LabelOpts& o, const std::string& annotator) {
  const DaemonClient client = ctx.client();
  RawTerminal term(STDIN_FILENO, STDOUT_FILENO);
  Session s;
  std::int64_t after = -1;  // skipped and labeled rows lie at or before this cursor
  std::string message;
  for (;;) {
    term.write(std::string(kClearScreen) + "wb label: sampling the next pair…\n");
    LabelView view;
    try {
      view.pair = client.get(next_target(o, annotator, after));
    } catch (const DaemonError& e) {
      if (e.code() != "all_labeled") throw;
      s.finished = true;
      return s;
    }
    view.choice.is_safety_prompt = view.pair.value("is_safety_prompt", false);
    if (auto it = view.pair.find("skipped_empty"); it != view.pair.end() && it->is_array() && !it->empty())
      message += (message.empty() ? "" : " · ") + std::string("passed over row(s) ") + it->dump() +
                 ": the model answered nothing";
    const auto shown = std::chrono::steady_clock::now();
    term.discard_input();  // keys typed while sampling were not meant for this pair
    for (;;) {
      view.header = "wb label · " + o.prompts + " → " + o.into + " · annotator " + annotator + " · " +
                    std::to_string(s.labeled) + " labeled, " + std::to_string(s.skipped) + " skipped";
      view.message = message;
      const TerminalSize size = term.size();
      // One column and one row spare: the last character never wraps or scrolls the screen.
      const LabelScreen screen = label_screen(view, std::max(20, size.cols - 1), std::max(10, size.rows - 1));
      view.scroll = screen.scroll;
      term.write(std::string(kClearScreen) + join_lines(screen.lines));
      const int key = term.read_key();
      if (key == kKeyEof) return s;
      if (key == kKeyResize) continue;
      if (auto to = scrolled(view.scroll, key, size.rows / 2)) {
        view.scroll = std::clamp(*to, 0, screen.max_scroll);
        continue;
      }
      const LabelAction action = apply_label_key(view.choice, key);
      if (action == LabelAction::Quit) return s;
      if (action == LabelAction::Incomplete) {
        message = "not saved yet: choose " + std::string(!view.choice.chosen ? "A or B, " : "") +
                  (!view.choice.rating ? "a strength (1-4), " : "") + (!view.choice.safety ? "a safety label (s/o/u), " : "");
        message.resize(message.size() - 2);
        continue;
      }
      if (action == LabelAction::Skip) {
        ++s.skipped;
        message = "skipped row " + std::to_string(view.pair.value("index", std::int64_t{0}));
        break;
      }
      if (action != LabelAction::Save) {
        message.clear();
        continue;
      }
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - shown).count();
      const json rec = client.post("/v1/comparisons", comparison_body(view.pair, view.choice, annotator, seconds));
      ++s.labeled;
      message = "saved comparison " + cell(rec, "id") + ": " + (*view.choice.chosen == 'a' ? "A " : "B ") +
                rating_name(*view.choice.rating) + ", " + safety_name(*view.choice.safety);
      break;
    }
    after = view.pair.value("index", after);
  }
}

int run_label(const Context& ctx, const LabelOpts& o) {
  if (o.prompts.empty() || o.model.empty() || o.into.empty())
    throw UsageError("wb label needs --prompts DATASET --model MODEL --into PREFDATASET");
  if (!::isatty(STDIN_FILENO) || !::isatty(STDOUT_FILENO))
    throw UsageError("wb label needs a terminal; label without one through `wb comparison add` or "
                     "`wb dataset import --kind preference`");
  const std::string annotator = annotator_of(o);
  const Session s = label_loop(ctx, o, annotator);
  if (ctx.opts.json) {
    print_json(*ctx.out, {{"labeled", s.labeled}, {"skipped", s.skipped}, {"finished", s.finished}, {"dataset", o.into}});
  } else {
    *ctx.out << "labeled " << s.labeled << " pair" << (s.labeled == 1 ? "" : "s") << " into '" << o.into << "' ("
             << s.skipped << " skipped)"
             << (!s.finished      ? ""
                 : s.skipped > 0 ? "; the others are labeled (skipped pairs come back next time)"
                                 : "; every prompt is labeled")
             << '\n';
  }
  return kExitOk;
}

std::string percent(const json& rate) {
  if (!rate.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", rate.get<double>() * 100.0);
  return buf;
}

int run_stats(const Context& ctx, const std::string& dataset) {
  const json r = ctx.client().get("/v1/comparisons/stats" + (dataset.empty() ? "" : "?dataset=" + url_encode(dataset)));
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
    return kExitOk;
  }
  std::string mean = "-";
  if (r["mean_seconds"].is_number()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1fs", r["mean_seconds"].get<double>());
    mean = buf;
  }
  print_fields(*ctx.out, {{"dataset", dataset.empty() ? "(all)" : dataset},
                          {"comparisons", cell(r, "total")},
                          {"safety prompts", cell(r, "safety_prompts")},
                          {"mean time per label", mean}});
  *ctx.out << '\n';
  Table t({"LABEL", "VALUE", "COUNT"});
  t.add_row({"chosen side", "A", cell(r["chosen"], "a")});
  t.add_row({"chosen side", "B", cell(r["chosen"], "b")});
  for (int k = 3; k >= 0; --k)
    t.add_row({"rating", std::to_string(k) + " " + rating_name(k), cell(r["rating"], std::to_string(k).c_str())});
  for (const char* k : {"both_safe", "chosen_safe", "both_unsafe"})
    t.add_row({"safety", safety_name(k), cell(r["safety"], k)});
  for (auto& [name, n] : r["annotator"].items()) t.add_row({"annotator", name, cell(n)});
  for (auto& [name, n] : r["source"].items()) t.add_row({"source", name, cell(n)});
  for (auto& [name, n] : r["wins"].items()) t.add_row({"wins", name, cell(n)});
  t.print(*ctx.out);
  const json& g = r["agreement"];
  *ctx.out << "\nagreement between annotators (pairs labeled by two or more):\n";
  print_fields(*ctx.out,
               {{"pairs labeled twice", cell(g, "pairs")},
                {"label couples compared", cell(g, "couples")},
                {"same preferred answer", cell(g, "same_preference") + " (" + percent(g["preference_rate"]) + ")"},
                {"same answer, rating within one level",
                 cell(g, "rating_within_one") + " (" + percent(g["rating_within_one_rate"]) + ")"},
                {"same answer, same rating", cell(g, "same_rating")},
                {"same safety label", cell(g, "same_safety") + " (" + percent(g["safety_rate"]) + ")"}});
  const json couples = r.value("annotator_couples", json::array());
  if (!couples.empty()) {
    *ctx.out << "\nevery two annotators (Cohen's kappa on the preferred answer):\n";
    Table k({"ANNOTATORS", "PAIRS", "SAME ANSWER", "KAPPA"});
    for (const auto& c : couples) {
      std::string kappa = "-";
      if (c["kappa"].is_number()) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", c["kappa"].get<double>());
        kappa = buf;
      }
      k.add_row({c["annotators"][0].get<std::string>() + " & " + c["annotators"][1].get<std::string>(), cell(c, "pairs"),
                 percent(c["preference_rate"]), kappa});
    }
    k.print(*ctx.out);
  }
  return kExitOk;
}

}  // namespace

void register_label(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<LabelOpts>();
  auto* grp = app.add_subcommand(
      "label", "label pairs of sampled answers on the terminal (A/B, strength, safety), or show label stats");
  grp->require_subcommand(0, 1);
  grp->add_option("--prompts", o->prompts, "prompt dataset to label");
  grp->add_option("--model", o->model, "base model that answers");
  grp->add_option("--a", o->a, "adapter for answer A (default: the base model)");
  grp->add_option("--b", o->b, "adapter for answer B (default: the base model)");
  grp->add_option("--temperatures", o->temperatures, "sampling temperatures of A and B, e.g. 0.7,1.2 (default 0.7)");
  grp->add_option("--into", o->into, "preference dataset the labels go to (created if missing)");
  grp->add_option("--annotator", o->annotator, "who labels (default: $USER)");
  grp->add_option("--seed", o->seed, "sampling seed (each row samples from the seed and its index, so every labeler sees the same pair)")
      ->check(CLI::Range(0, 2147483647));
  grp->add_option("--max-tokens", o->max_tokens, "longest answer in tokens")->check(CLI::Range(1, 4096));
  grp->add_flag("--per-annotator", o->per_annotator,
                "offer prompts this annotator has not labeled, even when others have (to measure agreement)");

  auto dataset = std::make_shared<std::string>();
  auto* stats = grp->add_subcommand("stats", "counts per label and agreement between annotators");
  stats->add_option("--dataset", *dataset, "only this preference dataset");
  stats->callback([&ctx, dataset] { ctx.action = [&ctx, dataset] { return run_stats(ctx, *dataset); }; });

  grp->callback([&ctx, o, stats] {
    if (stats->parsed()) return;
    ctx.action = [&ctx, o] { return run_label(ctx, *o); };
  });
}

}  // namespace wb::cli
