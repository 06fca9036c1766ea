// JSON request bodies: wb_json's parse (depth and size limits) and a JsonReader over typed
// fields, as route handlers read them.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wb/json/parse.h"
#include "wb/json/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    nlohmann::json j = wb::parse_json(text);
    (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const std::exception&) {
  }
  return 0;
}
