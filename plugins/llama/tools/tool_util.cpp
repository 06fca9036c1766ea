#include "tool_util.h"

#include <charconv>
#include <stdexcept>

namespace wb::engine_tool {

std::vector<int32_t> parse_id_list(const std::string& text) {
  std::vector<int32_t> out;
  size_t at = 0;
  while (at <= text.size()) {
    size_t end = text.find(',', at);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(at, end - at);
    int32_t v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v < 0)
      throw std::invalid_argument("token list: '" + item + "' is not a non-negative integer id");
    out.push_back(v);
    at = end + 1;
  }
  return out;
}

std::string ids_to_json(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + "]";
}

}  // namespace wb::engine_tool
