// SentencePiece model files (tokenizer.model, accepted from users by model_init and
// model_import): the engine's Tokenizer over libsentencepiece, and the sft plugin's own protobuf
// reader of piece scores (used for GGUF export). The project writes GGUF but never reads it.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sp_model.h"
#include "wb/llama/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  try {
    (void)wb::sft::read_sp_pieces(bytes, "<fuzz>");
  } catch (const std::exception&) {
  }
  try {
    wb::llama::Tokenizer tok = wb::llama::Tokenizer::from_serialized(bytes, "<fuzz>");
    // A model that loads must also encode and decode without faulting.
    const auto ids = tok.encode("Hello world <s> \xe2\x96\x81 \xff", true, true);
    (void)tok.decode(ids);
  } catch (const std::exception&) {
  }
  return 0;
}
