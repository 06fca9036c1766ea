// wb annotator add|list|remove — annotators with their own tokens for the web labeling page
// (docs/WEB.md). `add` prints the token once; the daemon keeps only its hash.
#include <memory>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/output.h"
#include "wb/cli/paths.h"

namespace wb::cli {
namespace {

using nlohmann::json;

int run_add(const Context& ctx, const std::string& name) {
  json r = ctx.client().post("/v1/annotators", {{"name", name}});
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
    return kExitOk;
  }
  *ctx.out << "annotator " << cell(r, "name") << " added; their token (shown only now, keep it secret):\n"
           << cell(r, "token") << '\n'
           << "They open the labeling page on the TCP listener, e.g.\n"
           << "  http://127.0.0.1:<tcp.port>/ui/label.html?prompts=PROMPTS&into=PREFS&model=MODEL\n"
           << "and enter the token once (docs/WEB.md).\n";
  return kExitOk;
}

int run_list(const Context& ctx) {
  json r = ctx.client().get("/v1/annotators");
  if (ctx.opts.json) {
    print_json(*ctx.out, r);
    return kExitOk;
  }
  Table t({"NAME", "LABELS", "CREATED"});
  for (auto& a : r.value("annotators", json::array())) t.add_row({cell(a, "name"), cell(a, "labels"), cell(a, "created")});
  if (t.rows() == 0) *ctx.out << "no annotators\n";
  else t.print(*ctx.out);
  return kExitOk;
}

}  // namespace

void register_annotator(CLI::App& app, Context& ctx) {
  auto* grp = app.add_subcommand("annotator", "annotators with their own tokens for the web labeling page");
  grp->require_subcommand(1);
  auto name = std::make_shared<std::string>();
  auto* c = grp->add_subcommand("add", "add an annotator and print their token (once)");
  c->add_option("name", *name, "annotator name (recorded with every label they make)")->required();
  c->callback([&ctx, name] { ctx.action = [&ctx, name] { return run_add(ctx, *name); }; });

  c = grp->add_subcommand("list", "annotators and how many labels each made");
  c->callback([&ctx] { ctx.action = [&ctx] { return run_list(ctx); }; });

  c = grp->add_subcommand("remove", "remove an annotator: their token stops working, their labels stay");
  c->add_option("name", *name, "annotator name")->required();
  c->callback([&ctx, name] {
    ctx.action = [&ctx, name] {
      json r = ctx.client().del("/v1/annotators/" + url_encode(*name));
      if (ctx.opts.json) print_json(*ctx.out, r);
      else *ctx.out << "removed annotator " << cell(r, "deleted") << '\n';
      return kExitOk;
    };
  });
}

}  // namespace wb::cli
