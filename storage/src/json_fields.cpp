#include "json_fields.h"

#include <nlohmann/json.hpp>

namespace wb::storage::detail {

std::string quote(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
}

}  // namespace wb::storage::detail
