// Internal: the canonical text of a JSON string value, shared by the storage's canonical JSONL
// writers (dataset rows, comparisons). Reading and validating fields is wb/json/reader.h's.
#pragma once

#include <string>
#include <string_view>

namespace wb::storage::detail {

// JSON-quoted, UTF-8 kept as is; throws nlohmann's type_error for invalid UTF-8.
std::string quote(std::string_view text);

}  // namespace wb::storage::detail
