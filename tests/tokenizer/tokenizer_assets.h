// Shared helpers for the tokenizer tests: the Llama 2 tokenizer asset and scratch folders.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <optional>
#include <random>
#include <string>

#include "wb/llama/tokenizer.h"

namespace wb::test {

// The Llama 2 tokenizer shipped beside the repository (not committed into it).
inline std::filesystem::path llama2_tokenizer_path() {
  return std::filesystem::path(WB_SOURCE_DIR) / ".." / "shared" / "assets" / "llama2-tokenizer" /
         "tokenizer.model";
}

// The loaded Llama 2 tokenizer, or nullopt (the caller then WARNs and returns: the asset is
// optional outside this workspace).
inline const wb::llama::Tokenizer* llama2_tokenizer() {
  static const std::optional<wb::llama::Tokenizer> tok = []() -> std::optional<wb::llama::Tokenizer> {
    if (!std::filesystem::exists(llama2_tokenizer_path())) return std::nullopt;
    return wb::llama::Tokenizer(llama2_tokenizer_path());
  }();
  return tok ? &*tok : nullptr;
}

#define WB_REQUIRE_LLAMA2_TOKENIZER(var)                                                   \
  const wb::llama::Tokenizer* var = wb::test::llama2_tokenizer();                         \
  if (var == nullptr) {                                                                   \
    WARN("skipped: " << wb::test::llama2_tokenizer_path() << " is absent");               \
    return;                                                                               \
  }

// A fresh folder under the system temp dir, removed when the object dies.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("wb-tok-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
             std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace wb::test
