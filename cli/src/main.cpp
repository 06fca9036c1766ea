// wb — command-line client of workbenchd.
#include <csignal>

#include "wb/cli/commands.h"

int main(int argc, char** argv) {
  // A daemon that closes the socket early must give an error, not kill wb.
  std::signal(SIGPIPE, SIG_IGN);
  return wb::cli::run_app(argc, argv);
}
