#include "chat_json.h"

#ifdef WB_ENGINE_HAVE_TOKENIZER
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "wb/llama/file_io.h"

namespace wb::engine_tool {

std::vector<llama::ChatMessage> read_chat_json(const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(llama::read_text_file(path));
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(path + ": not valid JSON: " + e.what());
  }
  if (!j.is_array()) throw std::invalid_argument(path + ": expected a JSON list of {role, content}");
  std::vector<llama::ChatMessage> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& m = j[i];
    if (!m.is_object() || !m.contains("role") || !m.contains("content") || !m["role"].is_string() ||
        !m["content"].is_string())
      throw std::invalid_argument(path + ": message " + std::to_string(i) + " needs string 'role' and 'content'");
    for (const auto& [k, v] : m.items())
      if (k != "role" && k != "content")
        throw std::invalid_argument(path + ": message " + std::to_string(i) + " has unknown field '" + k + "'");
    out.push_back({m["role"].get<std::string>(), m["content"].get<std::string>()});
  }
  return out;
}

}  // namespace wb::engine_tool
#endif
