// wbtest::TempDir: a fresh directory /tmp/<tag>-XXXXXX (mkdtemp; short, since Unix socket paths
// must fit in 108 bytes), removed with everything in it when the object dies. Every test folder
// uses this one (tests/common is on the include path of every wb_add_test_dir test).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace wbtest {

class TempDir {
 public:
  explicit TempDir(std::string_view tag = "wb") {
    std::string tmpl = "/tmp/" + std::string(tag) + "-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(std::string_view name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace wbtest
