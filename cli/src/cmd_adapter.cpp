// wb adapter load|unload|list — LoRA adapters in the serving plugin. A name registered by a
// training job loads by name; a PEFT folder made elsewhere loads with its path (and is
// registered under the name).
#include <filesystem>
#include <memory>
#include <optional>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/output.h"
#include "wb/cli/paths.h"

namespace wb::cli {
namespace {

using nlohmann::json;

struct LoadOpts {
  std::string name, path;
  std::optional<double> scale;
};

int run_load(const Context& ctx, const LoadOpts& o) {
  json body = json::object();
  if (!o.path.empty()) body["path"] = user_path(o.path);
  if (o.scale) body["scale"] = *o.scale;
  json r = ctx.client().post("/v1/adapters/" + url_encode(o.name) + "/load", body);
  if (ctx.opts.json) print_json(*ctx.out, r);
  else *ctx.out << "loaded adapter " << cell(r, "name") << " (rank " << cell(r, "rank") << ", version "
                << cell(r.value("resident", json::object()), "version") << ") from " << cell(r, "path") << '\n';
  return kExitOk;
}

int run_list(const Context& ctx) {
  json r = ctx.client().get("/v1/adapters");
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
    return kExitOk;
  }
  Table t({"NAME", "LOADED", "REFS", "BASE", "RANK", "ALPHA", "KIND", "JOB", "PATH"});
  for (auto& a : r.value("adapters", json::array())) {
    const json res = a.value("resident", json::object());
    t.add_row({cell(a, "name"), a.value("loaded", false) ? "yes" : "no", a.value("loaded", false) ? cell(res, "refs") : "-",
               cell(a, "base_model"), cell(a, "rank"), cell(a, "alpha"), cell(a, "kind"), cell(a, "job"), cell(a, "path")});
  }
  if (t.rows() == 0) *ctx.out << "no adapters\n";
  else t.print(*ctx.out);
  return kExitOk;
}

}  // namespace

void register_adapter(CLI::App& app, Context& ctx) {
  auto* grp = app.add_subcommand("adapter", "load, unload and list LoRA adapters for serving");
  grp->require_subcommand(1);

  auto o = std::make_shared<LoadOpts>();
  auto* c = grp->add_subcommand("load", "load (or reload) an adapter; new requests use it at once");
  c->add_option("name", o->name, "adapter name (registered by a job, or new with PATH)")->required();
  c->add_option("path", o->path, "PEFT adapter folder (adapter_config.json + adapter_model.safetensors)");
  c->add_option("--scale", o->scale, "multiplier of alpha/r for every request")->check(CLI::Range(0.0, 100.0));
  c->callback([&ctx, o] { ctx.action = [&ctx, o] { return run_load(ctx, *o); }; });

  auto name = std::make_shared<std::string>();
  c = grp->add_subcommand("unload", "unload an adapter (running requests keep it until they end)");
  c->add_option("name", *name, "adapter name")->required();
  c->callback([&ctx, name] {
    ctx.action = [&ctx, name] {
      json r = ctx.client().post("/v1/adapters/" + url_encode(*name) + "/unload", json::object());
      if (ctx.opts.json) print_json(*ctx.out, r);
      else *ctx.out << "unloaded adapter " << cell(r, "unloaded") << '\n';
      return kExitOk;
    };
  });

  c = grp->add_subcommand("list", "registered adapters and whether each is loaded");
  c->callback([&ctx] { ctx.action = [&ctx] { return run_list(ctx); }; });
}

}  // namespace wb::cli
