// Paths the user types, as wb hands them to the daemon: absolute (against wb's working directory,
// since the daemon has its own), lexically normal, and without a trailing separator ("out/" and
// "out" name the same folder; "out/" would otherwise read as a file named "" inside it).
#pragma once

#include <string>

namespace wb::cli {

std::string user_path(const std::string& typed);

}  // namespace wb::cli
