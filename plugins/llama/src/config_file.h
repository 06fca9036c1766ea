// Private: reads a JSON config file given as the file itself or as the directory that holds it
// under its conventional name (config.json, adapter_config.json), parses it, and makes every
// error name the real file instead of the conventional name.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include "wb/llama/file_io.h"

namespace wb::llama::detail {

// Error: the module's exception type (constructible from a message); parse: text -> value,
// throwing Error with messages that start with "<file_name>: ".
template <typename Error, typename Parse>
auto load_config_file(const std::filesystem::path& path, const std::string& file_name,
                      Parse parse) {
  std::filesystem::path file = path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) file = path / file_name;
  std::string text;
  try {
    text = read_text_file(file);
  } catch (const std::runtime_error& e) {
    throw Error(e.what());
  }
  try {
    return parse(text);
  } catch (const Error& e) {
    std::string msg = e.what();
    const std::string prefix = file_name + ": ";
    if (msg.rfind(prefix, 0) == 0) msg = msg.substr(prefix.size());
    throw Error(file.string() + ": " + msg);
  }
}

}  // namespace wb::llama::detail
