#include "wb/cli/context.h"

#include <cstdlib>

#include "wb/cli/errors.h"

#ifdef WB_CLI_HAVE_CONFIG
#include "wb/config.h"
#endif

namespace wb::cli {

std::string default_socket_path() {
#ifdef WB_CLI_HAVE_CONFIG
  // The socket the daemon listens on: its config file's `socket`, else the built-in default.
  try {
    return wb::config::load_default().socket.string();
  } catch (const wb::config::ConfigError& e) {
    throw Error(e.what(), "config");
  }
#else
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg)
    return std::string(xdg) + "/workbench/wb.sock";
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.local/share/workbench/run/wb.sock";
#endif
}

std::string Context::socket_path() const {
  if (!opts.socket.empty()) return opts.socket;
  if (const char* env = std::getenv("WB_SOCKET"); env && *env) return env;
  return default_socket_path();
}

}  // namespace wb::cli
