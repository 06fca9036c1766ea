// wb reward score — score responses with a reward model (POST /v1/rewards/score, the reward
// plugin's reward.score method).
//
//   wb reward score --rm rm-help --prompt "What is 2 + 3?" --response "Answer: 5"
//   wb reward score --rm rm-help --dataset help-eval [--split eval] [--limit 100] [--rows]
//
// The item form prints the score; the dataset form prints held-out accuracy overall, per rating
// level and per safety label (and each pair's scores with --rows). --json prints the route's
// answer as is.
#include <cstdint>
#include <cstdio>
#include <memory>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/output.h"

namespace wb::cli {
namespace {

using nlohmann::json;

struct ScoreOpts {
  std::string rm, prompt, response, dataset, split, device;
  std::int64_t limit = 0;
  bool rows = false;
};

std::string rate(const json& r) {
  if (!r.is_object() || !r.contains("accuracy") || r["accuracy"].is_null()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", r["accuracy"].get<double>() * 100.0);
  return buf;
}

std::string number(const json& v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v.get<double>());
  return buf;
}

int run_score(const Context& ctx, const ScoreOpts& o) {
  const bool item = !o.prompt.empty() || !o.response.empty();
  if (item == !o.dataset.empty()) throw UsageError("give --prompt and --response, or --dataset");
  if (item && (o.prompt.empty() || o.response.empty())) throw UsageError("--prompt and --response go together");
  json body = {{"rm", o.rm}};
  if (!o.device.empty()) body["device"] = o.device;
  if (item) {
    body["items"] = json::array({{{"prompt", o.prompt}, {"response", o.response}}});
  } else {
    body["dataset"] = o.dataset;
    if (!o.split.empty()) body["split"] = o.split;
    if (o.limit > 0) body["limit"] = o.limit;
  }
  const json r = ctx.client().post("/v1/rewards/score", body);
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
    return kExitOk;
  }
  if (item) {
    *ctx.out << number(r.at("scores").at(0)) << '\n';
    return kExitOk;
  }
  if (o.rows) {
    Table t({"row", "rating", "safety", "chosen", "rejected", "correct"});
    for (const auto& row : r.at("rows"))
      t.add_row({cell(row, "index"), cell(row, "rating"), cell(row, "safety"), number(row["chosen"]),
                 number(row["rejected"]), row.value("correct", false) ? "yes" : "no"});
    t.print(*ctx.out);
    *ctx.out << '\n';
  }
  Table t({"held-out pairs (" + cell(r, "rm") + ")", "n", "accuracy"});
  t.add_row({"all", cell(r, "n"), rate(r)});
  static const char* const kRating[] = {"negligibly better/unsure", "slightly better", "better", "significantly better"};
  for (int k = 3; k >= 0; --k) {
    const json& b = r["by_rating"][std::to_string(k)];
    if (b.value("n", 0) > 0) t.add_row({"rating " + std::to_string(k) + " " + kRating[k], cell(b, "n"), rate(b)});
  }
  for (const auto& [label, b] : r["by_safety"].items()) t.add_row({"safety " + label, cell(b, "n"), rate(b)});
  t.print(*ctx.out);
  return kExitOk;
}

}  // namespace

void register_reward(CLI::App& app, Context& ctx) {
  auto* grp = app.add_subcommand("reward", "reward models: score responses (train them with wb train reward)");
  grp->require_subcommand(1);
  auto o = std::make_shared<ScoreOpts>();
  auto* c = grp->add_subcommand("score", "score a response, or a preference dataset's pairs, with a reward model");
  c->add_option("--rm", o->rm, "the reward adapter's name")->required();
  c->add_option("--prompt", o->prompt, "the prompt (with --response)");
  c->add_option("--response", o->response, "the response to score");
  c->add_option("--dataset", o->dataset, "score every pair of a preference dataset and report accuracy");
  c->add_option("--split", o->split, "train | eval | all (default all)");
  c->add_option("--limit", o->limit, "score only the first N pairs");
  c->add_flag("--rows", o->rows, "also print each pair's scores");
  c->add_option("--device", o->device, "where to score: cpu, cuda or auto (default: the daemon's device setting)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  c->callback([&ctx, o] { ctx.action = [&ctx, o] { return run_score(ctx, *o); }; });
}

}  // namespace wb::cli
