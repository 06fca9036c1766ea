// MappedFile: a read-only memory mapping of a whole file, unmapped when the object dies.
//
//   MappedFile f("model.safetensors");   // throws std::runtime_error naming the path and errno
//   std::span<const uint8_t> bytes = f.bytes();
//
// An empty file maps to an empty span (data() == nullptr). Move-only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>

namespace wb::llama {

class MappedFile {
 public:
  // Maps `path` read-only. Throws std::runtime_error ("cannot open <path>: <reason>") when the
  // path is missing, a directory, or unreadable.
  explicit MappedFile(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  // Gives the pages lying wholly inside `range` (a part of bytes()) back to the kernel: they stop
  // counting in this process's resident memory, and a later read faults them in from the file
  // again (the mapping is private and never written, so nothing is lost). A reader that copies
  // each part out once calls this after the copy, so the file's bytes and the copy are never
  // resident together. Never throws; a range outside the mapping is ignored.
  void drop_pages(std::span<const uint8_t> range) const noexcept;
  const std::filesystem::path& path() const { return path_; }

 private:
  void release() noexcept;

  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace wb::llama
