// Reading a chat ([{"role": ..., "content": ...}, ...]) from a JSON file for the tokenizer-backed
// commands (tokenize --chat-json, generate --chat-json). Built only with the tokenizer.
#pragma once

#ifdef WB_ENGINE_HAVE_TOKENIZER
#include <string>
#include <vector>

#include "wb/llama/chat_template.h"

namespace wb::engine_tool {

// Throws std::invalid_argument naming the file and the message index for malformed JSON, a
// non-list, a message without string role/content, or an unknown field.
std::vector<llama::ChatMessage> read_chat_json(const std::string& path);

}  // namespace wb::engine_tool
#endif
