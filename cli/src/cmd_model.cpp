// wb model init|import|export|list|show — models live in the daemon; operations that touch
// tensors are jobs of the sft plugin (model_init, model_import, model_export), which these
// commands submit and wait for (following the job's events; with --json, silently), then print
// the result. list/show read GET /v1/models.
#include <chrono>
#include <cstdint>
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

// Submits a job and waits for it to end. Throws Error with the job's error when it fails.
json run_model_job(const Context& ctx, const std::string& kind, const json& spec) {
  const DaemonClient c = ctx.client();
  const json rec = c.post("/v1/jobs", {{"kind", kind}, {"spec", spec}});
  const std::int64_t id = rec.value("id", std::int64_t{-1});
  if (id < 0) throw Error("workbenchd returned a job record without an id");
  const std::string target = "/v1/jobs/" + std::to_string(id);
  if (!ctx.opts.json) {
    *ctx.out << kind << ": job " << id << '\n' << std::flush;
    follow_job(ctx, id, true);
  }
  for (;;) {
    const json j = c.get(target);
    const std::string state = j.value("state", "");
    if (state == "succeeded") return j;
    if (state == "failed" || state == "cancelled")
      throw Error(kind + " job " + std::to_string(id) + " " + state + ": " + cell(j, "error"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::string abs_path(const std::string& p) { return user_path(p); }

void print_model(const Context& ctx, const json& m) {
  if (ctx.opts.json) {
    print_json(*ctx.out, m);
    return;
  }
  const json c = m.value("config", json::object());
  print_fields(*ctx.out, {{"name", cell(m, "name")},
                          {"path", cell(m, "path")},
                          {"dtype", cell(m, "dtype")},
                          {"layers", cell(c, "num_hidden_layers")},
                          {"hidden", cell(c, "hidden_size")},
                          {"heads", cell(c, "num_attention_heads")},
                          {"vocab", cell(c, "vocab_size")},
                          {"context", cell(c, "max_position_embeddings")},
                          {"created", cell(m, "created")}});
}

struct InitOpts {
  std::string name, preset, tokenizer, corpus;
  std::int64_t vocab_size = 0, seed = 0;
  std::vector<std::string> sets;
};

int run_init(const Context& ctx, const InitOpts& o) {
  json spec = {{"name", o.name}, {"seed", o.seed}};
  if (!o.preset.empty()) spec["preset"] = o.preset;
  if (!o.tokenizer.empty()) spec["tokenizer"] = abs_path(o.tokenizer);
  if (!o.corpus.empty()) spec["tokenizer_corpus"] = abs_path(o.corpus);
  if (o.vocab_size > 0) spec["vocab_size"] = o.vocab_size;
  spec = apply_sets(std::move(spec), o.sets);
  run_model_job(ctx, "model_init", spec);
  print_model(ctx, ctx.client().get("/v1/models/" + url_encode(o.name)));
  return kExitOk;
}

int run_import(const Context& ctx, const std::string& name, const std::string& path) {
  run_model_job(ctx, "model_import", {{"name", name}, {"path", abs_path(path)}});
  print_model(ctx, ctx.client().get("/v1/models/" + url_encode(name)));
  return kExitOk;
}

struct ExportOpts {
  std::string name, out, format = "hf", adapter, dtype = "f32";
};

int run_export(const Context& ctx, const ExportOpts& o) {
  json spec = {{"model", o.name}, {"out", abs_path(o.out)}, {"format", o.format}, {"dtype", o.dtype}};
  if (!o.adapter.empty()) spec["adapter"] = o.adapter;
  run_model_job(ctx, "model_export", spec);
  if (ctx.opts.json) print_json(*ctx.out, {{"exported", o.name}, {"out", spec["out"]}, {"format", o.format}});
  else *ctx.out << "exported " << o.name << (o.adapter.empty() ? "" : " + " + o.adapter) << " as " << o.format << " to "
                << spec["out"].get<std::string>() << '\n';
  return kExitOk;
}

int run_list(const Context& ctx) {
  const json r = ctx.client().get("/v1/models");
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
    return kExitOk;
  }
  const json list = r.value("models", json::array());
  if (list.empty()) {
    *ctx.out << "no models\n";
    return kExitOk;
  }
  Table t({"NAME", "LAYERS", "HIDDEN", "VOCAB", "DTYPE", "CREATED", "PATH"});
  for (const auto& m : list) {
    const json c = m.value("config", json::object());
    t.add_row({cell(m, "name"), cell(c, "num_hidden_layers"), cell(c, "hidden_size"), cell(c, "vocab_size"),
               cell(m, "dtype"), cell(m, "created"), cell(m, "path")});
  }
  t.print(*ctx.out);
  return kExitOk;
}

}  // namespace

void register_model(CLI::App& app, Context& ctx) {
  auto* grp = app.add_subcommand("model", "create, import, export and list models");
  grp->require_subcommand(1);

  auto init = std::make_shared<InitOpts>();
  auto* c = grp->add_subcommand("init", "create a randomly initialized model (job model_init)");
  c->add_option("name", init->name, "model name")->required();
  c->add_option("--preset", init->preset, "size: tiny, 15m, 110m, 7b")->check(CLI::IsMember({"tiny", "15m", "110m", "7b"}));
  c->add_option("--tokenizer", init->tokenizer, "SentencePiece tokenizer.model to use (sets the vocabulary)");
  c->add_option("--tokenizer-corpus", init->corpus, "train a SentencePiece BPE tokenizer on this text file instead");
  c->add_option("--vocab-size", init->vocab_size, "vocabulary of the trained tokenizer")->check(CLI::Range(260, 1 << 20));
  c->add_option("--seed", init->seed, "initialization seed")->check(CLI::NonNegativeNumber);
  c->add_option("--set", init->sets, "spec field key=value (e.g. config.num_hidden_layers=2); repeatable");
  c->callback([&ctx, init] { ctx.action = [&ctx, init] { return run_init(ctx, *init); }; });

  auto names = std::make_shared<std::pair<std::string, std::string>>();
  c = grp->add_subcommand("import", "register an HF Llama directory (checked, then copied)");
  c->add_option("name", names->first, "model name")->required();
  c->add_option("path", names->second, "HF model directory (config.json, safetensors, tokenizer.model)")->required();
  c->callback([&ctx, names] { ctx.action = [&ctx, names] { return run_import(ctx, names->first, names->second); }; });

  auto ex = std::make_shared<ExportOpts>();
  c = grp->add_subcommand("export", "write a model (optionally with an adapter merged) as HF or GGUF");
  c->add_option("name", ex->name, "model name")->required();
  c->add_option("out", ex->out, "output directory (must not exist or be empty)")->required();
  c->add_option("--format", ex->format, "hf or gguf")->check(CLI::IsMember({"hf", "gguf"}));
  c->add_option("--adapter", ex->adapter, "LoRA adapter to merge first");
  c->add_option("--dtype", ex->dtype, "f32 or f16")->check(CLI::IsMember({"f32", "f16"}));
  c->callback([&ctx, ex] { ctx.action = [&ctx, ex] { return run_export(ctx, *ex); }; });

  c = grp->add_subcommand("list", "list registered models");
  c->callback([&ctx] { ctx.action = [&ctx] { return run_list(ctx); }; });

  auto show = std::make_shared<std::string>();
  c = grp->add_subcommand("show", "show one model");
  c->add_option("name", *show, "model name")->required();
  c->callback([&ctx, show] {
    ctx.action = [&ctx, show] {
      print_model(ctx, ctx.client().get("/v1/models/" + url_encode(*show)));
      return kExitOk;
    };
  });
}

}  // namespace wb::cli
