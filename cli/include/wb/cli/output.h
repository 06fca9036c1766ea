// output.h — how wb prints: aligned tables and key/value blocks for humans, JSON for scripts.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb::cli {

// Left-aligned text table with a header row; column widths fit the widest cell (in UTF-8 code
// points). Cells longer than `max_cell` code points are cut with "...".
class Table {
 public:
  explicit Table(std::vector<std::string> headers, std::size_t max_cell = 60);
  void add_row(std::vector<std::string> cells);  // missing cells print empty, extra are an error
  std::size_t rows() const { return rows_.size(); }
  void print(std::ostream& os) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
  std::size_t max_cell_;
};

// "key: value" lines with the keys padded to one width.
void print_fields(std::ostream& os, const std::vector<std::pair<std::string, std::string>>& fields);

// Pretty JSON (2-space indent) and a newline: what --json prints.
void print_json(std::ostream& os, const nlohmann::json& v);

// A JSON value as a table cell: strings unquoted, null/missing as "-", numbers as JSON writes
// them, arrays/objects as compact JSON.
std::string cell(const nlohmann::json& v);
// obj[key] as a cell, "-" when obj is not an object or lacks the key.
std::string cell(const nlohmann::json& obj, const char* key);

// Cuts `s` to at most `max` code points, ending in "..." when cut; newlines become spaces.
std::string shorten(std::string_view s, std::size_t max);

// Number of UTF-8 code points in s (display width for the text wb prints).
std::size_t display_width(std::string_view s);

}  // namespace wb::cli
