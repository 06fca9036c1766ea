// commands.h — the command groups of wb. Each group lives in its own cmd_<group>.cpp and adds its
// subcommands to the app; adding a group = one new file + one line in app.cpp.
//
//   status      wb status
//   dataset     wb dataset import|list|show|export|delete
//   comparison  wb comparison add|list|export
//   job         wb job submit|show|cancel|logs, and the top-level wb jobs
#pragma once

#include <CLI/CLI.hpp>

#include "wb/cli/context.h"

namespace wb::cli {

void register_status(CLI::App& app, Context& ctx);
void register_dataset(CLI::App& app, Context& ctx);
void register_comparison(CLI::App& app, Context& ctx);
void register_job(CLI::App& app, Context& ctx);
void register_model(CLI::App& app, Context& ctx);  // wb model init|import|export|list|show
void register_train(CLI::App& app, Context& ctx);  // wb train pretrain|sft
void register_eval(CLI::App& app, Context& ctx);   // wb eval
void register_serve(CLI::App& app, Context& ctx);     // wb serve start|stop|status
void register_adapter(CLI::App& app, Context& ctx);   // wb adapter load|unload|list
void register_generate(CLI::App& app, Context& ctx);  // wb generate
void register_chat(CLI::App& app, Context& ctx);      // wb chat
void register_reward(CLI::App& app, Context& ctx);  // wb reward score (cmd_reward.cpp)
void register_label(CLI::App& app, Context& ctx);  // wb label [stats] (cmd_label.cpp)
void register_annotator(CLI::App& app, Context& ctx);  // wb annotator add|list|remove

// Builds the full wb command line and runs it; returns the exit code (errors.h). Used by main().
int run_app(int argc, char** argv);

}  // namespace wb::cli
