// wb generate [--adapter A] PROMPT — one completion, its text streamed to stdout as it is
// generated (POST /v1/completions, "stream": true). With --json, the final completion instead.
#include <memory>

#include "wb/cli/commands.h"
#include "wb/cli/completion.h"
#include "wb/cli/errors.h"
#include "wb/cli/output.h"

namespace wb::cli {
namespace {

using nlohmann::json;

struct GenerateOpts {
  std::string prompt, adapter;
  SamplingFlags sampling;
};

int run_generate(const Context& ctx, const GenerateOpts& o) {
  const DaemonClient c = ctx.client();
  json body = {{"model", served_model(c, o.adapter)}, {"prompt", o.prompt}};
  o.sampling.apply(body);
  if (ctx.opts.json) {
    print_json(*ctx.out, c.post("/v1/completions", body));
    return kExitOk;
  }
  CompletionResult r = stream_completion(c, "/v1/completions", body, [&](const std::string& piece) {
    *ctx.out << piece << std::flush;
  });
  *ctx.out << '\n';
  if (r.finish_reason == "length") *ctx.err << "(stopped at --max-tokens " << o.sampling.max_tokens << ")\n";
  return kExitOk;
}

}  // namespace

void register_generate(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<GenerateOpts>();
  auto* c = app.add_subcommand("generate", "complete a prompt with the served model or one of its adapters");
  c->add_option("prompt", o->prompt, "prompt text")->required();
  c->add_option("--adapter", o->adapter, "loaded adapter to use (default: the base model)");
  o->sampling.add_to(c);
  c->callback([&ctx, o] { ctx.action = [&ctx, o] { return run_generate(ctx, *o); }; });
}

}  // namespace wb::cli
