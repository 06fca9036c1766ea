// wb comparison add|list|export — human preference labels (/v1/comparisons).
#include <cstdlib>
#include <memory>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/export.h"
#include "wb/cli/output.h"

namespace wb::cli {
namespace {

using nlohmann::json;

struct AddOpts {
  std::string dataset, prompt, a, b, chosen, safety, annotator, model_a, model_b;
  int rating = 0;
  double seconds = -1;  // < 0: not given
  bool safety_prompt = false;
};

std::string default_annotator() {
  const char* u = std::getenv("USER");
  return u && *u ? u : "unknown";
}

int run_add(const Context& ctx, const AddOpts& o) {
  const json body = {{"dataset", o.dataset},
                     {"prompt", o.prompt},
                     {"response_a", o.a},
                     {"response_b", o.b},
                     {"chosen", o.chosen},
                     {"rating", o.rating},
                     {"safety", o.safety},
                     {"is_safety_prompt", o.safety_prompt},
                     {"annotator", o.annotator.empty() ? default_annotator() : o.annotator},
                     {"source", "human"}};
  json full = body;
  if (!o.model_a.empty()) full["model_a"] = o.model_a;
  if (!o.model_b.empty()) full["model_b"] = o.model_b;
  if (o.seconds >= 0) full["seconds"] = o.seconds;
  const json rec = ctx.client().post("/v1/comparisons", full);
  if (ctx.opts.json) {
    print_json(*ctx.out, rec);
  } else {
    *ctx.out << "added comparison " << cell(rec, "id") << " to dataset '" << cell(rec, "dataset")
             << "'\n";
  }
  return kExitOk;
}

struct ListOpts {
  std::string dataset;
  int limit = 100, offset = 0;
};

std::string list_query(const ListOpts& o) {
  std::string q = "?limit=" + std::to_string(o.limit) + "&offset=" + std::to_string(o.offset);
  if (!o.dataset.empty()) q += "&dataset=" + url_encode(o.dataset);
  return q;
}

int run_list(const Context& ctx, const ListOpts& o) {
  const json r = ctx.client().get("/v1/comparisons" + list_query(o));
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
    return kExitOk;
  }
  const json list = r.value("comparisons", json::array());
  if (list.empty()) {
    *ctx.out << "no comparisons\n";
    return kExitOk;
  }
  Table t({"ID", "DATASET", "CHOSEN", "RATING", "SAFETY", "SAFETY PROMPT", "ANNOTATOR", "PROMPT"}, 50);
  for (const auto& c : list)
    t.add_row({cell(c, "id"), cell(c, "dataset"), cell(c, "chosen"), cell(c, "rating"),
               cell(c, "safety"), cell(c, "is_safety_prompt"), cell(c, "annotator"),
               cell(c, "prompt")});
  t.print(*ctx.out);
  *ctx.out << list.size() << " of " << cell(r, "total") << " comparisons\n";
  return kExitOk;
}

}  // namespace

void register_comparison(CLI::App& app, Context& ctx) {
  auto* grp = app.add_subcommand("comparison", "record and export human preference labels");
  grp->require_subcommand(1);

  auto add = std::make_shared<AddOpts>();
  auto* c = grp->add_subcommand("add", "record one labeled pair of responses");
  c->add_option("--dataset", add->dataset, "preference dataset (created if missing)")->required();
  c->add_option("--prompt", add->prompt, "the prompt")->required();
  c->add_option("--a", add->a, "response A")->required();
  c->add_option("--b", add->b, "response B")->required();
  c->add_option("--chosen", add->chosen, "the better response")->required()->check(CLI::IsMember({"a", "b"}));
  c->add_option("--rating", add->rating,
                "how much better: 0 negligibly/unsure, 1 slightly, 2 better, 3 significantly")
      ->required()
      ->check(CLI::Range(0, 3));
  c->add_option("--safety", add->safety, "safety label")
      ->required()
      ->check(CLI::IsMember({"both_safe", "chosen_safe", "both_unsafe"}));
  c->add_flag("--safety-prompt", add->safety_prompt, "the prompt is a safety (adversarial) prompt");
  c->add_option("--annotator", add->annotator, "who labeled it (default: $USER)");
  c->add_option("--model-a", add->model_a, "what produced response A (model or adapter)");
  c->add_option("--model-b", add->model_b, "what produced response B (model or adapter)");
  c->add_option("--seconds", add->seconds, "time the labeler took")->check(CLI::NonNegativeNumber);
  c->callback([&ctx, add] { ctx.action = [&ctx, add] { return run_add(ctx, *add); }; });

  auto list = std::make_shared<ListOpts>();
  c = grp->add_subcommand("list", "list comparisons");
  c->add_option("--dataset", list->dataset, "only this dataset");
  c->add_option("--limit", list->limit, "at most this many")->check(CLI::Range(1, 10000));
  c->add_option("--offset", list->offset, "skip this many")->check(CLI::NonNegativeNumber);
  c->callback([&ctx, list] { ctx.action = [&ctx, list] { return run_list(ctx, *list); }; });

  auto exp = std::make_shared<std::pair<std::string, std::string>>();  // dataset, output file
  c = grp->add_subcommand("export", "write comparisons as preference JSONL (stdout or -o FILE)");
  c->add_option("--dataset", exp->first, "the preference dataset to export")->required();
  c->add_option("-o,--output", exp->second, "output file (default: stdout)");
  c->callback([&ctx, exp] {
    ctx.action = [&ctx, exp] {
      std::string target = "/v1/comparisons/export";
      if (!exp->first.empty()) target += "?dataset=" + url_encode(exp->first);
      return export_ndjson(ctx, target, exp->second);
    };
  });
}

}  // namespace wb::cli
