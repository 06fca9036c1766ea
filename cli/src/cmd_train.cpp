// wb train pretrain|sft|reward|dpo|ppo|rs — submit a training job (sft plugin; reward plugin for
// reward; rlhf plugin for dpo, ppo and rs, whose job kind is rejection_sampling). The spec comes from --spec FILE and/or --set key=value (applied on top);
// --follow shows the progress bar with the loss and ETA until the job ends (exit 0 only when it
// succeeded). `wb train <kind> --help` ends with the kind's spec fields, defaults and required
// ones, asked of the daemon (job_kinds.h).
//
//   wb train sft --set model=base --set dataset=chat --set output=my-lora --set rank=8 --follow
//   wb train reward --head safety --set model=base --set datasets=safety-prefs --set output=rm-safe
//   wb train dpo --set model=base --set adapter=sft-2 --set dataset=prefs --set beta=0.1 --follow
//   wb train ppo --set model=base --set adapter=sft-2 --set helpfulness=rm-h --set safety=rm-s --set dataset=prompts
#include <cstdint>
#include <fstream>
#include <memory>
#include <sstream>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/job_follow.h"
#include "wb/cli/job_kinds.h"
#include "wb/cli/output.h"
#include "wb/cli/set_parser.h"

namespace wb::cli {
namespace {

using nlohmann::json;

struct TrainOpts {
  std::string spec_file;
  std::vector<std::string> sets;
  bool follow = false;
  std::string head;  // reward only: spec "head"
};

json read_spec(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error("cannot read spec file '" + path + "': no such file or not readable");
  std::stringstream ss;
  ss << f.rdbuf();
  const json spec = json::parse(ss.str(), nullptr, false);
  if (spec.is_discarded()) throw Error("spec file '" + path + "' is not valid JSON");
  if (!spec.is_object()) throw Error("spec file '" + path + "' must hold a JSON object");
  return spec;
}

// `name` is the subcommand (what a default output is named after), `kind` the job kind.
int run_train(const Context& ctx, const std::string& name, const std::string& kind, const TrainOpts& o) {
  json spec = o.spec_file.empty() ? json::object() : read_spec(o.spec_file);
  if (!o.head.empty()) spec["head"] = o.head;
  spec = apply_sets(std::move(spec), o.sets);
  const json rec = ctx.client().post("/v1/jobs", {{"kind", kind}, {"spec", spec}});
  const std::int64_t id = rec.value("id", std::int64_t{-1});
  if (ctx.opts.json && !o.follow) {
    print_json(*ctx.out, rec);
    return kExitOk;
  }
  if (ctx.opts.json) *ctx.out << rec.dump() << '\n' << std::flush;
  else {
    // Without --set output, pretrain, sft, dpo, ppo and rs name their result "<name>-<job id>".
    const std::string output = spec.contains("output") || kind == "reward" ? cell(spec, "output") : name + "-" + std::to_string(id);
    *ctx.out << "submitted " << kind << " job " << id << " (output " << output << ")\n" << std::flush;
  }
  if (!o.follow) return kExitOk;
  if (id < 0) throw Error("workbenchd returned a job record without an id");
  return follow_job(ctx, id, true);
}

void add_train_kind(CLI::App* grp, Context& ctx, const std::string& name, const std::string& help,
                    const std::string& job_kind = "") {
  const std::string kind = job_kind.empty() ? name : job_kind;
  auto o = std::make_shared<TrainOpts>();
  auto* c = grp->add_subcommand(name, help);
  c->add_option("--spec", o->spec_file, "JSON file holding the spec object");
  c->add_option("--set", o->sets,
                "spec field key=value (model, dataset, output, max_steps, lr, ...; repeatable; over --spec)");
  c->add_flag("--follow", o->follow, "show a progress bar with loss and ETA until the job ends");
  if (kind == "reward")
    c->add_option("--head", o->head, "helpfulness | safety (the spec's head)")->check(CLI::IsMember({"helpfulness", "safety"}));
  // --help lists the kind's spec fields as the daemon's plugin declares them (GET /v1/job-kinds).
  c->footer([&ctx, kind] { return "\n" + job_kind_help(ctx, kind); });
  c->callback([&ctx, o, name, kind] { ctx.action = [&ctx, o, name, kind] { return run_train(ctx, name, kind, *o); }; });
}

}  // namespace

void register_train(CLI::App& app, Context& ctx) {
  auto* grp = app.add_subcommand("train", "pretrain a model or fine-tune it (SFT, LoRA or full)");
  grp->require_subcommand(1);
  add_train_kind(grp, ctx, "pretrain", "train every weight on a text dataset -> a new model");
  add_train_kind(grp, ctx, "sft", "supervised fine-tuning on chat rows (method lora -> adapter, full -> model)");
  add_train_kind(grp, ctx, "reward",
                 "reward model (LoRA + scalar head, margin ranking loss) on preference datasets -> reward adapter");
  add_train_kind(grp, ctx, "dpo",
                 "DPO of a policy LoRA against the SFT model on a preference dataset -> policy adapter");
  add_train_kind(grp, ctx, "ppo",
                 "PPO of a policy LoRA with the helpfulness and safety reward models on a prompt dataset -> policy adapter");
  add_train_kind(grp, ctx, "rs",
                 "rejection sampling: best of K answers per prompt by the reward models, then SFT on them -> policy adapter",
                 "rejection_sampling");
}

}  // namespace wb::cli
