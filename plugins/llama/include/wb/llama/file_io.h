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

// A file written in pieces and published atomically: bytes go to a temp file in the same folder
// ("<path>.tmp.<pid>.<n>"); commit() fsyncs and renames it over `path`, so readers see the old
// or the new file, never a half-written one. Destroyed without commit(), the temp file is
// removed. Creates no directories. Errors throw EngineError (a std::runtime_error) "cannot write
// <path>: ..." of kind no_space when the disk, a quota or the file-size limit is full (ENOSPC,
// EDQUOT, EFBIG), io otherwise.
class AtomicFile {
 public:
  explicit AtomicFile(const std::filesystem::path& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void append(std::span<const uint8_t> bytes);
  void append(std::string_view text);
  void commit();

 private:
  std::filesystem::path path_;
  std::filesystem::path tmp_;
  int fd_ = -1;
  bool committed_ = false;
};

// One-shot AtomicFile.
void write_file_atomic(const std::filesystem::path& path, std::span<const uint8_t> bytes);
void write_file_atomic(const std::filesystem::path& path, std::string_view text);

}  // namespace wb::llama
