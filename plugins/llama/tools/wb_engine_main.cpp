// wb-engine: developer commands over the Llama engine (see commands.h). Output goes to stdout;
// errors go to stderr as one line and the exit status is 1 (2 for bad usage).
#include <cstdio>
#include <exception>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"wb-engine: initialize, run, sample from and merge Llama-style models"};
  app.require_subcommand(1);
  wb::engine_tool::add_init(app);
  wb::engine_tool::add_tokenize(app);
  wb::engine_tool::add_forward(app);
  wb::engine_tool::add_generate(app);
  wb::engine_tool::add_merge(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    const auto subs = app.get_subcommands();
    std::fprintf(stderr, "wb-engine %s: %s\n", subs.empty() ? "" : subs[0]->get_name().c_str(), e.what());
    return 1;
  }
  return 0;
}
