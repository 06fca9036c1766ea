// Whole-file helpers shared by the format readers/writers of wb::llama.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace wb::llama {

// Reads a whole file as bytes/text. Throws std::runtime_error "cannot read <path>: <reason>"
// when it is missing, a directory or unreadable.
std::string read_text_file(const std::filesystem::path& path);

// Writes `bytes` to `path` atomically: a temp file in the same folder, fsync, then rename over
// `path`, so readers see the old or the new file, never a half-written one. Creates no
// directories. Throws std::runtime_error naming the path; the temp file is removed on failure.
void write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> bytes);
void write_file_atomic(const std::filesystem::path& path, std::string_view text);

}  // namespace wb::llama
