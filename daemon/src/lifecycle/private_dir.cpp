#include "lifecycle/private_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace wb::daemon {
namespace fs = std::filesystem;

namespace {

std::string octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

std::string prepare_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create data dir " + dir.string() + ": " + ec.message());
  struct stat st{};
  if (::stat(dir.c_str(), &st) != 0)
    throw std::runtime_error("cannot read data dir " + dir.string() + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) throw std::runtime_error("data dir " + dir.string() + " is not a directory");
  if (st.st_uid != ::geteuid())
    throw std::runtime_error("data dir " + dir.string() + " belongs to uid " + std::to_string(st.st_uid) +
                             ", not to this user (uid " + std::to_string(::geteuid()) +
                             "): give each user a data dir of their own");
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    throw std::runtime_error("data dir " + dir.string() + " is writable by other users (mode " + octal(st.st_mode) +
                             "): anyone could replace its models or database; chmod 700 it, then start again");
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    if (::chmod(dir.c_str(), S_IRWXU) != 0)
      throw std::runtime_error("cannot make data dir " + dir.string() + " private: " + std::strerror(errno));
    return "data dir " + dir.string() + " was mode " + octal(st.st_mode) + "; made 0700 (readable by this user only)";
  }
  return "";
}

}  // namespace wb::daemon
