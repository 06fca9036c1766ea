#include "wb/cli/paths.h"

#include <filesystem>

namespace wb::cli {

std::string user_path(const std::string& typed) {
  std::filesystem::path p = std::filesystem::absolute(typed).lexically_normal();
  if (!p.has_filename() && p.has_relative_path()) p = p.parent_path();  // "/a/out/" -> "/a/out"; "/" stays
  return p.string();
}

}  // namespace wb::cli
