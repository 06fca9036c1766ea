// wb eval — evaluate a model (optionally with an adapter) on held-out suite tasks: submits an
// eval job of the sft plugin, waits for it, and prints the checker's figures as a table.
//
//   wb eval --model base --adapter my-lora --dataset sft-eval [--limit 200]
//   wb eval --model base --adapter gatt --suite-dir data --multi-turn   # adherence by turn
// A multi-turn eval also prints where its heatmap of attention on the system instruction is (on
// the daemon's machine: <data_dir>/jobs/<id>/attention_share.svg).
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/job_follow.h"
#include "wb/cli/output.h"
#include "wb/cli/paths.h"
#include "wb/cli/set_parser.h"

namespace wb::cli {
namespace {

using nlohmann::json;

struct EvalOpts {
  std::string model, adapter, dataset, suite_dir, split;
  std::int64_t limit = 0, max_tokens = 0;
  bool multi_turn = false;
  std::vector<std::string> sets;
};

std::string figure(const json& metrics, const char* name, bool rate) {
  if (!metrics.contains(name)) return "-";
  const double v = metrics[name].value("value", 0.0);
  char buf[32];
  if (rate) std::snprintf(buf, sizeof buf, "%.1f%%", v * 100.0);
  else std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

int run_eval(const Context& ctx, const EvalOpts& o) {
  json spec = {{"model", o.model}};
  if (!o.adapter.empty()) spec["adapter"] = o.adapter;
  if (!o.dataset.empty()) spec["dataset"] = o.dataset;
  if (!o.suite_dir.empty()) spec["suite_dir"] = user_path(o.suite_dir);
  if (!o.split.empty()) spec["split"] = o.split;
  if (o.limit > 0) spec["limit"] = o.limit;
  if (o.max_tokens > 0) spec["max_tokens"] = o.max_tokens;
  if (o.multi_turn) spec["multi_turn"] = true;
  spec = apply_sets(std::move(spec), o.sets);
  const DaemonClient c = ctx.client();
  const json rec = c.post("/v1/jobs", {{"kind", "eval"}, {"spec", spec}});
  const std::int64_t id = rec.value("id", std::int64_t{-1});
  if (id < 0) throw Error("workbenchd returned a job record without an id");
  const std::string target = "/v1/jobs/" + std::to_string(id);
  if (!ctx.opts.json) {
    *ctx.out << "eval: job " << id << '\n' << std::flush;
    follow_job(ctx, id, true);
  }
  json job;
  for (;;) {
    job = c.get(target);
    const std::string state = job.value("state", "");
    if (state == "succeeded") break;
    if (state == "failed" || state == "cancelled") throw Error("eval job " + std::to_string(id) + " " + state + ": " + cell(job, "error"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const json m = job.value("metrics", json::object());
  std::string svg;  // the attention heatmap a multi-turn eval wrote
  if (o.multi_turn && m.contains("attention_share_turn_1"))
    svg = (std::filesystem::path(c.get("/v1/status").value("data_dir", "")) / "jobs" / std::to_string(id) /
           "attention_share.svg")
              .string();
  if (ctx.opts.json) {
    json out = {{"job", id}, {"model", o.model}, {"adapter", o.adapter.empty() ? json() : json(o.adapter)}};
    for (const auto& [name, v] : m.items()) out[name] = v.value("value", 0.0);
    if (!svg.empty()) out["attention_svg"] = svg;
    print_json(*ctx.out, out);
    return kExitOk;
  }
  if (o.multi_turn) {
    // One row per turn: the share of replies obeying the persona and of attention on its instruction.
    Table t({"MODEL", "ADAPTER", "TURN", "ADHERENCE", "ATTENTION ON SYSTEM"});
    for (int k = 1; m.contains("adherence_turn_" + std::to_string(k)); ++k) {
      const std::string name = "adherence_turn_" + std::to_string(k), att = "attention_share_turn_" + std::to_string(k);
      t.add_row({o.model, o.adapter.empty() ? "-" : o.adapter, std::to_string(k), figure(m, name.c_str(), true),
                 figure(m, att.c_str(), true)});
    }
    t.print(*ctx.out);
    *ctx.out << "dialogues " << figure(m, "dialogues", false) << ", replies " << figure(m, "turns", false)
             << ": adherence " << figure(m, "adherence", true) << " (turns >= 3: " << figure(m, "adherence_later", true)
             << "), content accuracy " << figure(m, "content_accuracy", true) << '\n';
    if (!svg.empty()) *ctx.out << "attention on the system instruction by turn and layer: " << svg << '\n';
    return kExitOk;
  }
  Table t({"MODEL", "ADAPTER", "N", "GRADED", "UNGRADED", "ACCURACY", "FORMAT", "REFUSAL(UNSAFE)", "OVER-REFUSAL"});
  t.add_row({o.model, o.adapter.empty() ? "-" : o.adapter, figure(m, "n", false), figure(m, "graded", false),
             figure(m, "ungraded", false), figure(m, "accuracy", true),
             figure(m, "format_adherence", true), figure(m, "refusal_rate", true), figure(m, "over_refusal_rate", true)});
  t.print(*ctx.out);
  if (m.contains("ungraded") && m["ungraded"].value("value", 0.0) > 0)
    *ctx.out << figure(m, "ungraded", false) << " of " << figure(m, "n", false)
             << " prompts are not suite tasks the checker recognises: not graded, not counted in the rates\n";
  return kExitOk;
}

}  // namespace

void register_eval(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<EvalOpts>();
  auto* c = app.add_subcommand("eval", "grade a model/adapter on held-out suite tasks (accuracy, format)");
  c->add_option("--model", o->model, "base model")->required();
  c->add_option("--adapter", o->adapter, "LoRA adapter applied to the model");
  c->add_option("--dataset", o->dataset, "sft or prompt dataset to evaluate on (its eval split when it has one)");
  c->add_option("--suite-dir", o->suite_dir, "or: a wb-suite output directory (uses sft_eval.jsonl)");
  c->add_option("--split", o->split, "auto, eval, train or all")->check(CLI::IsMember({"auto", "eval", "train", "all"}));
  c->add_option("--limit", o->limit, "at most this many prompts")->check(CLI::PositiveNumber);
  c->add_option("--max-tokens", o->max_tokens, "tokens generated per prompt")->check(CLI::PositiveNumber);
  c->add_flag("--multi-turn", o->multi_turn,
              "persona dialogues (--suite-dir: dialogues_eval.jsonl): adherence at turns 1..N and content accuracy");
  c->add_option("--set", o->sets, "extra spec field key=value; repeatable");
  c->callback([&ctx, o] {
    if (o->dataset.empty() == o->suite_dir.empty()) throw CLI::ValidationError("--dataset", "give exactly one of --dataset or --suite-dir");
    ctx.action = [&ctx, o] { return run_eval(ctx, *o); };
  });
}

}  // namespace wb::cli
