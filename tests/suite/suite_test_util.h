// Helpers shared by the suite tests: parse generated JSONL, turn rows into graded pairs, and
// make unique temporary directories.
#pragma once

#include <filesystem>

#include "wb_temp_dir.h"
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/suite/chat.h"
#include "wb/suite/generator.h"

namespace wb::suite::testing {

inline std::vector<nlohmann::json> parse_rows(const std::string& text) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) rows.push_back(nlohmann::json::parse(line));
  return rows;
}

// A (prompt, reference response) pair for every assistant turn of a chat row: the prompt is the
// conversation rendered up to that turn's user message.
struct Pair {
  std::string prompt;
  std::string response;
};
inline std::vector<Pair> turn_pairs(const nlohmann::json& row) {
  std::vector<Pair> out;
  for (const auto& t : graded_turns(messages_from_row(row))) out.push_back({t.prompt, t.reference});
  return out;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using TempDir = wbtest::TempDir;  // tests/common/wb_temp_dir.h

}  // namespace wb::suite::testing
