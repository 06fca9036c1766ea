#include "wb/cli/context.h"

#include <cstdlib>

#include "wb/cli/errors.h"
#include "wb/config/config.h"

namespace wb::cli {

std::string default_socket_path() {
  // The socket the daemon listens on: its config file's `socket`, else the built-in default.
  try {
    return wb::config::load_default().socket.string();
  } catch (const wb::config::ConfigError& e) {
    throw Error(e.what(), "config");
  }
}

std::string Context::socket_path() const {
  if (!opts.socket.empty()) return opts.socket;
  if (const char* env = std::getenv("WB_SOCKET"); env && *env) return env;
  return default_socket_path();
}

}  // namespace wb::cli
