// Shared helpers for the tokenizer tests: the Llama 2 tokenizer asset and scratch folders.
#pragma once


#include <filesystem>
#include <optional>
#include <string>

#include "wb/llama/tokenizer.h"
#include "wb_skip.h"
#include "wb_temp_dir.h"

namespace wb::test {

// The Llama 2 tokenizer shipped beside the repository (not committed into it).
inline std::filesystem::path llama2_tokenizer_path() {
  return std::filesystem::path(WB_SOURCE_DIR) / ".." / "shared" / "assets" / "llama2-tokenizer" /
         "tokenizer.model";
}

// The loaded Llama 2 tokenizer, or nullptr when the asset is absent (it lives beside the
// repository, not in it).
inline const wb::llama::Tokenizer* llama2_tokenizer() {
  static const std::optional<wb::llama::Tokenizer> tok = []() -> std::optional<wb::llama::Tokenizer> {
    if (!std::filesystem::exists(llama2_tokenizer_path())) return std::nullopt;
    return wb::llama::Tokenizer(llama2_tokenizer_path());
  }();
  return tok ? &*tok : nullptr;
}

// Ends the case as skipped (CTest "Skipped", not "Passed") when the asset is absent.
#define WB_REQUIRE_LLAMA2_TOKENIZER(var)                                                   \
  const wb::llama::Tokenizer* var = wb::test::llama2_tokenizer();                         \
  if (var == nullptr) {                                                                   \
    WB_SKIP((wb::test::llama2_tokenizer_path().string() + " is absent").c_str());         \
  }

using ScratchDir = wbtest::TempDir;  // tests/common/wb_temp_dir.h

}  // namespace wb::test
