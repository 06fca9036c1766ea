#include "lifecycle/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace wb::daemon {
namespace fs = std::filesystem;

InstanceLock::InstanceLock(const fs::path& data_dir) {
  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) throw std::runtime_error("cannot create data dir " + data_dir.string() + ": " + ec.message());
  fs::path file = data_dir / "workbenchd.lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("cannot open " + file.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    char buf[32] = {0};
    ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string("?");
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    ::close(fd_);
    fd_ = -1;
    if (err == EWOULDBLOCK)
      throw std::runtime_error("another workbenchd (pid " + pid + ") is already running with data dir " +
                               data_dir.string());
    throw std::runtime_error("cannot lock " + file.string() + ": " + std::strerror(err));
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd_, 0) == 0) {
    ssize_t w = ::pwrite(fd_, me.data(), me.size(), 0);
    (void)w;
  }
}

InstanceLock::~InstanceLock() {
  if (fd_ >= 0) {
    if (::ftruncate(fd_, 0) != 0) {
    }
    ::close(fd_);  // releases the flock
  }
}

void prepare_socket_path(const fs::path& socket) {
  struct stat st {};
  if (::lstat(socket.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw std::runtime_error("cannot inspect socket path " + socket.string() + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode))
    throw std::runtime_error("socket path " + socket.string() + " exists and is not a socket; refusing to replace it");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket.native().size() >= sizeof addr.sun_path)
    throw std::runtime_error("socket path too long: " + socket.string());
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket(): ") + std::strerror(errno));
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::close(fd);
  if (rc == 0)
    throw std::runtime_error("another workbenchd is already listening on " + socket.string());
  if (err == ECONNREFUSED || err == ENOENT) {
    // Nobody listens: a socket file left by a daemon that died.
    if (::unlink(socket.c_str()) != 0 && errno != ENOENT)
      throw std::runtime_error("cannot remove stale socket " + socket.string() + ": " + std::strerror(errno));
    return;
  }
  throw std::runtime_error("cannot probe socket " + socket.string() + ": " + std::strerror(err));
}

}  // namespace wb::daemon
