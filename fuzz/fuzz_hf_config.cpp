// HF config.json and PEFT adapter_config.json readers (plugins/llama).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wb/llama/hf_config.h"
#include "wb/llama/peft_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)wb::llama::parse_hf_config(text);
  } catch (const std::exception&) {
  }
  try {
    (void)wb::llama::parse_peft_config(text);
  } catch (const std::exception&) {
  }
  return 0;
}
