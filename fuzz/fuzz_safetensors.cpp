// safetensors files (models and adapters from elsewhere): header length, JSON header, dtypes,
// shapes and offsets, validated by plugins/llama's reader.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "wb/llama/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto f = wb::llama::SafetensorsFile::from_bytes(std::vector<std::uint8_t>(data, data + size), "fuzz");
  } catch (const std::exception&) {
  }
  return 0;
}
