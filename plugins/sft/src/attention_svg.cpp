#include "attention_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace wb::sft {
namespace {

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string rgb(double t) {  // white -> rgb(8, 48, 107)
  t = std::clamp(t, 0.0, 1.0);
  char buf[32];
  std::snprintf(buf, sizeof buf, "rgb(%d,%d,%d)", static_cast<int>(std::lround(255 - t * 247)),
                static_cast<int>(std::lround(255 - t * 207)), static_cast<int>(std::lround(255 - t * 148)));
  return buf;
}

}  // namespace

std::string attention_heatmap_svg(const std::vector<std::vector<std::optional<double>>>& share, const std::string& title) {
  const int layers = static_cast<int>(share.size());
  int turns = 0;
  double top = 0;
  for (const auto& row : share) {
    turns = std::max(turns, static_cast<int>(row.size()));
    for (const auto& v : row)
      if (v) top = std::max(top, *v);
  }
  const int cell_w = 64, cell_h = 32, left = 80, head = 56, width = std::max(left + turns * cell_w + 16, 480),
            height = head + layers * cell_h + 40;
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<title>" << xml_escape(title) << "</title>\n";
  o << "<text x=\"8\" y=\"20\" font-size=\"14\">" << xml_escape(title) << "</text>\n";
  for (int t = 0; t < turns; ++t)
    o << "<text x=\"" << left + t * cell_w + cell_w / 2 << "\" y=\"" << head - 8 << "\" text-anchor=\"middle\">turn "
      << t + 1 << "</text>\n";
  for (int l = 0; l < layers; ++l) {
    const int y = head + l * cell_h;
    o << "<text x=\"" << left - 8 << "\" y=\"" << y + cell_h / 2 + 4 << "\" text-anchor=\"end\">layer " << l << "</text>\n";
    for (int t = 0; t < turns; ++t) {
      const int x = left + t * cell_w;
      const bool v = t < static_cast<int>(share[l].size()) && share[l][t].has_value();
      const double value = v ? share[l][t].value_or(0.0) : 0.0, shade = top > 0 ? value / top : 0.0;
      o << "<rect class=\"cell\" data-layer=\"" << l << "\" data-turn=\"" << t + 1 << "\" x=\"" << x << "\" y=\"" << y
        << "\" width=\"" << cell_w << "\" height=\"" << cell_h << "\" fill=\"" << (v ? rgb(shade) : "rgb(204,204,204)")
        << "\" stroke=\"white\"/>\n";
      if (v) {
        char pct[16];
        std::snprintf(pct, sizeof pct, "%.1f%%", value * 100.0);
        o << "<text x=\"" << x + cell_w / 2 << "\" y=\"" << y + cell_h / 2 + 4 << "\" text-anchor=\"middle\" fill=\""
          << (shade > 0.55 ? "white" : "black") << "\">" << pct << "</text>\n";
      }
    }
  }
  o << "<text x=\"8\" y=\"" << height - 12
    << "\">attention from each turn's answer tokens on the system instruction</text>\n";
  o << "</svg>\n";
  return o.str();
}

}  // namespace wb::sft
