// The wb command line: global options, the command groups, and the mapping of failures to exit
// codes (0 ok, 1 error, 2 usage).
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "wb/cli/commands.h"
#include "wb/cli/errors.h"
#include "wb/cli/output.h"

#ifndef WB_VERSION
#define WB_VERSION "0"
#endif

namespace wb::cli {
namespace {

int report(const Context& ctx, const Error& e, int code) {
  *ctx.err << "wb: " << e.what() << '\n';
  if (ctx.opts.json) {
    nlohmann::json j = {{"error", {{"code", e.code()}, {"message", e.what()}}}};
    if (auto* d = dynamic_cast<const DaemonError*>(&e)) j["error"]["http_status"] = d->http_status();
    print_json(*ctx.out, j);
  }
  return code;
}

// The first word that is not a command where one is required ("wb nosuch", "wb model nosuch"),
// as "model nosuch"; CLI11 alone would say "A subcommand is required".
std::optional<std::string> unknown_command(CLI::App& app, int argc, char** argv) {
  CLI::App* at = &app;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string tok = argv[i];
    if (tok == "--") return std::nullopt;
    if (!tok.empty() && tok[0] == '-') {
      if (at == &app && tok == "--socket") ++i;  // the one top-level option with a value
      continue;
    }
    if (at->get_require_subcommand_min() == 0) return std::nullopt;  // from here on, arguments
    path += (path.empty() ? "" : " ") + tok;
    CLI::App* sub = nullptr;
    for (CLI::App* c : at->get_subcommands([](CLI::App*) { return true; }))
      if (c->check_name(tok)) sub = c;
    if (!sub) return path;
    at = sub;
  }
  return std::nullopt;
}

bool has_json_flag(int argc, char** argv) {
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--json") return true;
  return false;
}

}  // namespace

int run_app(int argc, char** argv) {
  Context ctx;
  CLI::App app{"wb: command-line client of workbenchd (fine-tune and serve Llama-style models)",
               "wb"};
  app.set_version_flag("--version", "wb " WB_VERSION);
  app.add_option("--socket", ctx.opts.socket,
                 "daemon socket (default: $WB_SOCKET, then the config file's socket, then "
                 "$XDG_RUNTIME_DIR/workbench/wb.sock)");
  app.add_flag("--json", ctx.opts.json, "print machine-readable JSON");
  app.fallthrough();  // global options may follow the subcommand (set before adding subcommands)
  app.require_subcommand(1);

  register_status(app, ctx);
  register_dataset(app, ctx);
  register_comparison(app, ctx);
  register_job(app, ctx);
  register_model(app, ctx);
  register_train(app, ctx);
  register_eval(app, ctx);
  register_serve(app, ctx);
  register_adapter(app, ctx);
  register_generate(app, ctx);
  register_chat(app, ctx);
  register_label(app, ctx);
  register_annotator(app, ctx);
  register_reward(app, ctx);

  if (auto unknown = unknown_command(app, argc, argv)) {
    std::cerr << "wb: unknown command '" << *unknown << "'; run 'wb --help' for the commands\n";
    if (ctx.opts.json || has_json_flag(argc, argv))
      print_json(*ctx.out, {{"error", {{"code", "usage"}, {"message", "unknown command '" + *unknown + "'"}}}});
    return kExitUsage;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, version or the usage error
    if (rc == 0) return kExitOk;
    // --json (when parsed before the error) gets the usage error as JSON too.
    if (ctx.opts.json) print_json(*ctx.out, {{"error", {{"code", "usage"}, {"message", e.what()}}}});
    return kExitUsage;
  }
  if (!ctx.action) {
    std::cerr << app.help();
    return kExitUsage;
  }
  try {
    return ctx.action();
  } catch (const UsageError& e) {
    return report(ctx, e, kExitUsage);
  } catch (const Error& e) {
    return report(ctx, e, kExitError);
  } catch (const std::exception& e) {
    return report(ctx, Error(e.what()), kExitError);
  }
}

}  // namespace wb::cli
