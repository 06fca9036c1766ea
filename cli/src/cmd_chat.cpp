// wb chat [--adapter A] [--system S] — a multi-turn conversation: each line read from stdin is a
// user turn; the whole conversation goes to POST /v1/chat/completions (Llama 2 chat template)
// and the answer streams to the terminal. "/exit" or end of input ends it. A turn the daemon
// refuses with 400 (the conversation outgrew the context) is reported and dropped.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "wb/cli/commands.h"
#include "wb/cli/completion.h"
#include "wb/cli/errors.h"
#include "wb/cli/output.h"

namespace wb::cli {
namespace {

using nlohmann::json;

struct ChatOpts {
  std::string adapter, system;
  SamplingFlags sampling;
};

int run_chat(const Context& ctx, const ChatOpts& o) {
  const DaemonClient c = ctx.client();
  const std::string model = served_model(c, o.adapter);
  const bool tty = ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO);
  if (tty) *ctx.out << "chatting with " << model << " (/exit to quit)\n";
  json messages = json::array();
  if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
  std::string line;
  for (;;) {
    if (tty) *ctx.out << "> " << std::flush;
    if (!std::getline(std::cin, line) || line == "/exit") break;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    messages.push_back({{"role", "user"}, {"content", line}});
    json body = {{"model", model}, {"messages", messages}};
    o.sampling.apply(body);
    CompletionResult r;
    try {
      r = stream_completion(c, "/v1/chat/completions", body, [&](const std::string& piece) {
        *ctx.out << piece << std::flush;
      });
    } catch (const DaemonError& e) {
      messages.erase(messages.size() - 1);  // the turn did not happen
      // A turn the daemon refuses (e.g. the conversation outgrew the context) ends nothing
      // else: say why and read the next line. Other failures (daemon gone) end the chat.
      if (e.http_status() != 400) throw;
      *ctx.err << "wb: " << e.what() << '\n';
      continue;
    }
    // An empty answer (the model ended at once) is said, not shown as a blank line.
    if (r.text.empty()) *ctx.out << "(empty answer: the model stopped at once, finish_reason " << r.finish_reason << ")";
    *ctx.out << '\n' << std::flush;
    messages.push_back({{"role", "assistant"}, {"content", r.text}});
  }
  return kExitOk;
}

}  // namespace

void register_chat(CLI::App& app, Context& ctx) {
  auto o = std::make_shared<ChatOpts>();
  auto* c = app.add_subcommand("chat", "talk with the served model or an adapter (multi-turn, streamed)");
  c->add_option("--adapter", o->adapter, "loaded adapter to use (default: the base model)");
  c->add_option("--system", o->system, "system message (folded into the first turn, Llama 2 style)");
  o->sampling.add_to(c);
  c->callback([&ctx, o] { ctx.action = [&ctx, o] { return run_chat(ctx, *o); }; });
}

}  // namespace wb::cli
