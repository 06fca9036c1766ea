// Small helpers shared by the wb-engine commands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace wb::engine_tool {

// "1,2,3" -> {1, 2, 3}. Throws std::invalid_argument naming the bad item.
std::vector<int32_t> parse_id_list(const std::string& text);
// "[1,2,3]"
std::string ids_to_json(const std::vector<int32_t>& ids);

}  // namespace wb::engine_tool
