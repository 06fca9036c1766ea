// The body of POST /v1/datasets: parse_import_body (the "jsonl" string found in the body, the
// rest parsed) and JsonStringLines decoding that string's escapes line by line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "handlers/import_body.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  try {
    wb::daemon::ImportBody b = wb::daemon::parse_import_body(body);
    if (b.raw) {
      wb::daemon::JsonStringLines lines(b.escaped, b.escaped_offset);
      std::string_view line;
      while (lines.next(line)) {
      }
    }
  } catch (const std::exception&) {
  }
  return 0;
}
