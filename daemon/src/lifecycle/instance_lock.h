// instance_lock.h — one daemon per data dir and per socket.
//
// InstanceLock takes an exclusive flock on <data_dir>/workbenchd.lock (released by the kernel
// when the process dies, so a crash never leaves it stuck) and writes the pid into it.
// prepare_socket_path() then probes the socket path: a live daemon answering there is an error;
// a stale socket file left by a dead daemon (connect refused) is removed; a non-socket file is
// an error (never deleted). Both throw std::runtime_error with a message fit for the user.
#pragma once

#include <filesystem>

namespace wb::daemon {

class InstanceLock {
 public:
  explicit InstanceLock(const std::filesystem::path& data_dir);
  ~InstanceLock();
  InstanceLock(const InstanceLock&) = delete;
  InstanceLock& operator=(const InstanceLock&) = delete;

 private:
  int fd_ = -1;
};

void prepare_socket_path(const std::filesystem::path& socket);

}  // namespace wb::daemon
