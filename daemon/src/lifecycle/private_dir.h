// private_dir.h — the data directory belongs to the daemon's user alone: datasets, labels,
// models and the database are private data. workbenchd sets umask 077 before creating anything
// (so every file it writes is 0600 and every folder 0700) and calls prepare_private_dir on its
// data directory before opening anything in it:
//   - a missing directory is created 0700;
//   - one that other users can write (group or other write bit), or that another user owns, is
//     refused: std::runtime_error naming the path, its mode and the fix;
//   - one that others can only read or enter (a directory made 0755 before) is narrowed to 0700.
#pragma once

#include <filesystem>
#include <string>

namespace wb::daemon {

// Returns a note when it narrowed the mode ("" otherwise); throws as above.
std::string prepare_private_dir(const std::filesystem::path& dir);

}  // namespace wb::daemon
