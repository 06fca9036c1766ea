// errors.h — the exceptions wb's commands throw, and the exit code each one maps to.
//
// Every command reports failure by throwing one of these; app.cpp catches them, prints the
// message (on stderr; with --json also an {"error":{...}} object on stdout) and exits with:
//   0 success, 1 error (daemon error, daemon unreachable, unreadable file, ...), 2 usage.
#pragma once

#include <stdexcept>
#include <string>

namespace wb::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;

// A runtime failure that is not the user's command-line syntax (exit 1).
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string code = "error")
      : std::runtime_error(message), code_(std::move(code)) {}
  // Short machine-readable code, e.g. "not_found" (daemon codes are passed through).
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

// The command line is wrong in a way CLI11 cannot see (exit 2), e.g. a malformed --set.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, "usage") {}
};

// No daemon answers on the socket. The message is the user-facing sentence:
// "cannot connect to workbenchd at <path>: <reason>; start it with `workbenchd`".
class ConnectError : public Error {
 public:
  ConnectError(const std::string& socket_path, const std::string& reason)
      : Error("cannot connect to workbenchd at " + socket_path + ": " + reason +
                  "; start it with `workbenchd`",
              "connect") {}
};

// The daemon answered with an error status and body {"error":{"code","message"}}.
// what() is the daemon's message as-is.
class DaemonError : public Error {
 public:
  DaemonError(int http_status, std::string code, const std::string& message)
      : Error(message, std::move(code)), status_(http_status) {}
  int http_status() const { return status_; }

 private:
  int status_;
};

}  // namespace wb::cli
