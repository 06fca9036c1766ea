#include "wb/cli/output.h"

#include <algorithm>
#include <stdexcept>

namespace wb::cli {

using nlohmann::json;

std::size_t display_width(std::string_view s) {
  // Count bytes that do not continue a UTF-8 sequence.
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string shorten(std::string_view s, std::size_t max) {
  std::string flat(s);
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  std::replace(flat.begin(), flat.end(), '\r', ' ');
  std::replace(flat.begin(), flat.end(), '\t', ' ');
  if (display_width(flat) <= max) return flat;
  const std::size_t keep = max > 3 ? max - 3 : 0;
  std::size_t points = 0, i = 0;
  for (; i < flat.size(); ++i) {
    if ((static_cast<unsigned char>(flat[i]) & 0xC0) != 0x80) {
      if (points == keep) break;
      ++points;
    }
  }
  return flat.substr(0, i) + std::string(std::min<std::size_t>(3, max), '.');
}

std::string cell(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

std::string cell(const json& obj, const char* key) {
  if (!obj.is_object()) return "-";
  auto it = obj.find(key);
  return it == obj.end() ? "-" : cell(*it);
}

Table::Table(std::vector<std::string> headers, std::size_t max_cell)
    : headers_(std::move(headers)), max_cell_(max_cell) {}

void Table::add_row(std::vector<std::string> cells) {
  if (cells.size() > headers_.size()) throw std::logic_error("Table row has more cells than columns");
  cells.resize(headers_.size());
  for (auto& c : cells) c = shorten(c, max_cell_);
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& os) const {
  std::vector<std::size_t> w(headers_.size());
  for (std::size_t i = 0; i < headers_.size(); ++i) w[i] = display_width(headers_[i]);
  for (const auto& r : rows_)
    for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], display_width(r[i]));
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (std::size_t i = 0; i < cells.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size()) s += std::string(w[i] - display_width(cells[i]) + 2, ' ');
    }
    os << s << '\n';
  };
  line(headers_);
  for (const auto& r : rows_) line(r);
}

void print_fields(std::ostream& os, const std::vector<std::pair<std::string, std::string>>& fields) {
  std::size_t w = 0;
  for (const auto& [k, v] : fields) w = std::max(w, display_width(k));
  for (const auto& [k, v] : fields)
    os << k << ':' << std::string(w - display_width(k) + 1, ' ') << v << '\n';
}

void print_json(std::ostream& os, const json& v) { os << v.dump(2) << '\n'; }

}  // namespace wb::cli
