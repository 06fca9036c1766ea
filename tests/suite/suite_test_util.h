// Helpers shared by the suite tests: parse generated JSONL, turn rows into graded pairs, and
// make unique temporary directories.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>
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

// A fresh directory under the system temp dir, removed when the object dies.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("wb-suite-test-" + std::to_string(::getpid()) + "-" + std::to_string(stamp) + "-" +
             std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace wb::suite::testing
