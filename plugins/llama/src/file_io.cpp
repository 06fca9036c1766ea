#include "wb/llama/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>

#include "wb/engine_error.h"

namespace wb::llama {

std::string read_text_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    throw std::runtime_error("cannot read " + path.string() + ": is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw std::runtime_error("cannot read " + path.string() + ": I/O error");
  return ss.str();
}

namespace {

[[noreturn]] void fail(const std::filesystem::path& path, const std::string& what, ErrorKind kind = ErrorKind::io) {
  throw EngineError(kind, "cannot write " + path.string() + ": " + what);
}

// A failed system call's errno: no_space for a full disk, quota or file-size limit.
[[noreturn]] void fail_errno(const std::filesystem::path& path, const std::string& call, int err) {
  fail(path, call + std::strerror(err), write_error_kind(err));
}

}  // namespace

AtomicFile::AtomicFile(const std::filesystem::path& path) : path_(path), tmp_(path) {
  // pid + a process-wide counter: concurrent writers (threads or processes) never share a temp.
  static std::atomic<uint64_t> counter{0};
  tmp_ += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) fail_errno(path_, "", errno);
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(tmp_, ec);
  }
}

void AtomicFile::append(std::span<const uint8_t> bytes) {
  if (fd_ < 0) fail(path_, "already committed");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail_errno(path_, "", errno);
    }
    done += static_cast<size_t>(n);
  }
}

void AtomicFile::append(std::string_view text) {
  append(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

void AtomicFile::commit() {
  if (fd_ < 0) fail(path_, "already committed");
  if (::fsync(fd_) != 0) fail_errno(path_, "fsync: ", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail_errno(path_, "close: ", errno);
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail_errno(path_, "rename: ", errno);
  committed_ = true;
}

void write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> bytes) {
  AtomicFile f(path);
  f.append(bytes);
  f.commit();
}

void write_file_atomic(const std::filesystem::path& path, std::string_view text) {
  AtomicFile f(path);
  f.append(text);
  f.commit();
}

}  // namespace wb::llama
