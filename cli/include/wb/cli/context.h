// context.h — what every command handler gets: the global options and the output streams.
//
// Command groups register their subcommands on the CLI11 app (commands.h). A subcommand's
// callback does not talk to the daemon itself: it stores the work in Context::action, which
// app.cpp runs after the whole command line parsed, so that usage errors (exit 2) are all found
// before anything reaches the daemon.
#pragma once

#include <functional>
#include <iostream>
#include <string>

#include "wb/cli/daemon_client.h"

namespace wb::cli {

struct GlobalOptions {
  std::string socket;  // --socket; empty = $WB_SOCKET, then the configured default
  bool json = false;   // --json: machine-readable JSON on stdout for every command
};

struct Context {
  GlobalOptions opts;
  std::ostream* out = &std::cout;
  std::ostream* err = &std::cerr;
  // Set by the chosen subcommand's callback; returns the process exit code.
  std::function<int()> action;

  // The socket to use: --socket, then $WB_SOCKET, then default_socket_path().
  std::string socket_path() const;
  DaemonClient client() const { return DaemonClient(socket_path()); }
};

// The daemon's default socket (wb_config): the `socket` of the config file workbenchd reads
// ($WB_CONFIG, else ~/.config/workbench/workbench.toml), else the default rule in PROTOCOL.md
// ($XDG_RUNTIME_DIR/workbench/wb.sock, else ~/.local/share/workbench/run/wb.sock). Throws Error
// when the config file is unreadable/bad.
std::string default_socket_path();

}  // namespace wb::cli
