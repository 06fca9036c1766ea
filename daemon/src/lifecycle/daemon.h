// daemon.h — workbenchd: wires config, storage, plugins, scheduler and the HTTP server together.
//
//   Daemon d(config);   // takes the instance lock, opens storage, loads plugins, listens
//   return d.run();     // serves until SIGTERM/SIGINT, then shuts down cleanly; returns 0
//
// Start-up order: data dir + lock (one daemon per data dir), socket probe (a live daemon there is
// an error, a stale socket is removed), storage (migrations), plugins, scheduler (crash recovery),
// HTTP listener. Shutdown order: stop accepting, ask the running job to checkpoint and wait
// (bounded by shutdown_grace), close connections, stop io threads, shut plugins down, close
// SQLite, remove the socket, release the lock.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "wb/config/config.h"

namespace wb::daemon {

class Daemon {
 public:
  // Throws std::runtime_error with a user-facing message when it cannot start.
  explicit Daemon(config::Config cfg, std::chrono::milliseconds shutdown_grace = std::chrono::seconds(30));
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Blocks until SIGTERM or SIGINT (or request_stop()), then shuts down. Returns the exit code.
  int run();
  // Asks run() to return (thread-safe; also what the signal handler does).
  void request_stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace wb::daemon
