// wb serve start|stop|status — the serving lifecycle (POST/DELETE/GET /v1/serving): which base
// model is resident, its adapters with their reference counts, running/queued requests, tokens/s.
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/output.h"

namespace wb::cli {
namespace {

using nlohmann::json;

struct StartOpts {
  std::string model;
  std::optional<std::int64_t> max_batch, max_context, max_adapters, max_queue;
  std::optional<std::string> device, gpu_dtype;
  bool batch_invariant = false, no_batch_invariant = false;  // neither: the daemon's [serving] setting
};

std::string rate(const json& s) {
  if (!s.contains("tokens_per_s") || !s["tokens_per_s"].is_number()) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", s["tokens_per_s"].get<double>());
  return b;
}

void print_status(const Context& ctx, const json& s) {
  if (ctx.opts.json) return print_json(*ctx.out, s);
  if (!s.value("serving", false)) {
    *ctx.out << "no model is being served (start one with `wb serve start --model NAME`)\n";
    return;
  }
  print_fields(*ctx.out, {{"model", cell(s, "model")},
                          {"device", cell(s, "device")},
                          {"context", cell(s, "context")},
                          {"max batch", cell(s, "max_batch")},
                          {"max adapters", cell(s, "max_adapters")},
                          {"batch invariant", cell(s, "batch_invariant")},
                          {"running", cell(s, "running")},
                          {"queued", cell(s, "queued")},
                          {"tokens/s", rate(s)}});
  const json adapters = s.value("adapters", json::array());
  if (adapters.empty()) return;
  *ctx.out << '\n';
  Table t({"ADAPTER", "VERSION", "REFS", "SCALE", "RANK", "RESIDENT", "PATH"});
  for (auto& a : adapters)
    t.add_row({cell(a, "name"), cell(a, "version"), cell(a, "refs"), cell(a, "scale"), cell(a, "rank"),
               a.value("resident", true) ? "yes" : "no (held by running requests)", cell(a, "path")});
  t.print(*ctx.out);
}

int run_start(const Context& ctx, const StartOpts& o) {
  json body = {{"model", o.model}};
  if (o.max_batch) body["max_batch"] = *o.max_batch;
  if (o.max_context) body["max_context"] = *o.max_context;
  if (o.max_adapters) body["max_adapters"] = *o.max_adapters;
  if (o.max_queue) body["max_queue"] = *o.max_queue;
  if (o.device) body["device"] = *o.device;
  if (o.gpu_dtype) body["gpu_dtype"] = *o.gpu_dtype;
  if (o.batch_invariant) body["batch_invariant"] = true;
  if (o.no_batch_invariant) body["batch_invariant"] = false;
  print_status(ctx, ctx.client().post("/v1/serving", body));
  return kExitOk;
}

}  // namespace

void register_serve(CLI::App& app, Context& ctx) {
  auto* grp = app.add_subcommand("serve", "serve a model (and its LoRA adapters) for completions");
  grp->require_subcommand(1);

  auto o = std::make_shared<StartOpts>();
  auto* c = grp->add_subcommand("start", "load a registered model for serving (replaces a resident one)");
  c->add_option("--model", o->model, "registered model name")->required();
  c->add_option("--max-batch", o->max_batch, "sequences decoded together")->check(CLI::Range(1, 4096));
  c->add_option("--max-context", o->max_context, "tokens per sequence, prompt included")->check(CLI::Range(16, 1 << 20));
  c->add_option("--max-adapters", o->max_adapters, "resident LoRA adapters")->check(CLI::Range(0, 4096));
  c->add_option("--max-queue", o->max_queue, "requests waiting for a batch slot before 429")->check(CLI::Range(0, 1 << 20));
  c->add_option("--device", o->device, "where to serve: cpu, cuda or auto (default: the daemon's device setting)")
      ->check(CLI::IsMember({"cpu", "cuda", "auto"}));
  c->add_option("--gpu-dtype", o->gpu_dtype, "weights on the GPU: bf16 (default) or fp32")
      ->check(CLI::IsMember({"bf16", "fp32"}));
  // Two plain flags: CLI11 would set an optional<bool> flag to false even when neither is given.
  auto* inv = c->add_flag("--batch-invariant", o->batch_invariant,
                          "decode each request independently of its batch (CPU; default: the daemon's [serving] "
                          "batch_invariant, off)");
  c->add_flag("--no-batch-invariant", o->no_batch_invariant, "batch invariance off for this start")->excludes(inv);
  c->callback([&ctx, o] { ctx.action = [&ctx, o] { return run_start(ctx, *o); }; });

  c = grp->add_subcommand("stop", "unload the served model (its running requests end)");
  c->callback([&ctx] {
    ctx.action = [&ctx] {
      json r = ctx.client().del("/v1/serving");
      if (ctx.opts.json) print_json(*ctx.out, r);
      else *ctx.out << "stopped serving " << cell(r, "stopped") << '\n';
      return kExitOk;
    };
  });

  c = grp->add_subcommand("status", "resident model, adapters and their references, load, tokens/s");
  c->callback([&ctx] {
    ctx.action = [&ctx] {
      print_status(ctx, ctx.client().get("/v1/serving"));
      return kExitOk;
    };
  });
}

}  // namespace wb::cli
