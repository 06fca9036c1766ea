// Dataset JSONL as imported: the storage's line parser for every dataset kind.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wb/storage/dataset_format.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  using wb::storage::DatasetKind;
  for (DatasetKind k : {DatasetKind::Sft, DatasetKind::Preference, DatasetKind::Prompt, DatasetKind::Text}) {
    try {
      (void)wb::storage::parse_jsonl(k, text);
    } catch (const std::exception&) {
    }
  }
  for (auto f : {wb::storage::TextFormat::Lines, wb::storage::TextFormat::Document}) {
    try {
      (void)wb::storage::parse_text(text, f);
    } catch (const std::exception&) {
    }
  }
  return 0;
}
