// Text layout for full-screen terminal commands (tty_layout.h).
#include "wb/cli/tty_layout.h"

#include <algorithm>

#include "wb/cli/output.h"

namespace wb::cli {

namespace {

// Byte length of the UTF-8 sequence starting with `lead` (1 for stray continuation bytes).
std::size_t utf8_len(unsigned char lead) {
  if (lead >= 0xF0 && lead <= 0xF7) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

// Splits `s` into code points (each as its bytes).
std::vector<std::string_view> code_points(std::string_view s) {
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = std::min(utf8_len(static_cast<unsigned char>(s[i])), s.size() - i);
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

int width_of(std::string_view s) { return static_cast<int>(display_width(s)); }

// Wraps one paragraph (no '\n') into `out`.
void wrap_paragraph(std::string_view para, int width, std::vector<std::string>& out) {
  std::string line;
  int line_w = 0;
  std::size_t i = 0;
  auto flush = [&] {
    out.push_back(line);
    line.clear();
    line_w = 0;
  };
  while (i < para.size()) {
    if (para[i] == ' ') {
      ++i;
      if (line_w > 0 && line_w < width) {
        line += ' ';
        ++line_w;
      }
      continue;
    }
    std::size_t end = para.find(' ', i);
    if (end == std::string_view::npos) end = para.size();
    std::string_view word = para.substr(i, end - i);
    i = end;
    const int w = width_of(word);
    if (line_w > 0 && line_w + w > width) {
      while (!line.empty() && line.back() == ' ') line.pop_back();
      flush();
    }
    if (w <= width) {
      line += word;
      line_w += w;
      continue;
    }
    for (std::string_view cp : code_points(word)) {  // a word longer than a line is cut
      if (line_w == width) flush();
      line += cp;
      ++line_w;
    }
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out.push_back(line);
}

std::string repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += '\n';
    } else if (c == '\t') {
      out += "  ";
    } else if (c == '\r') {
      continue;
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      out += '?';  // C1 control (U+0080..U+009F), e.g. a one-byte CSI
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::vector<std::string> wrap_text(std::string_view text, int width) {
  width = std::max(width, 1);
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t nl = text.find('\n', start);
    wrap_paragraph(text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start), width,
                   out);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string pad_to(std::string_view line, int width) {
  std::string out(line);
  const int w = width_of(line);
  if (w < width) out.append(static_cast<std::size_t>(width - w), ' ');
  return out;
}

std::string rule(std::string_view title, int width) {
  const std::string label = title.empty() ? std::string() : " " + std::string(title) + " ";
  const int rest = std::max(0, width - width_of(label));
  return repeat("─", rest / 2) + label + repeat("─", rest - rest / 2);
}

std::vector<std::string> side_by_side(std::string_view title_a, std::string_view a, std::string_view title_b,
                                      std::string_view b, int width) {
  const int col = std::max(10, (width - 3) / 2);
  const auto left = wrap_text(printable(a), col);
  const auto right = wrap_text(printable(b), col);
  std::vector<std::string> out;
  out.push_back(rule(title_a, col) + "─┬─" + rule(title_b, col));
  const std::size_t n = std::max(left.size(), right.size());
  for (std::size_t i = 0; i < n; ++i) {
    std::string l = i < left.size() ? left[i] : "";
    std::string r = i < right.size() ? right[i] : "";
    std::string line = pad_to(l, col) + " │ " + r;
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out.push_back(line);
  }
  return out;
}

std::vector<std::string> stacked(std::string_view title_a, std::string_view a, std::string_view title_b,
                                 std::string_view b, int width) {
  width = std::max(width, 10);
  std::vector<std::string> out;
  out.push_back(rule(title_a, width));
  for (auto& l : wrap_text(printable(a), width)) out.push_back(l);
  out.push_back(rule(title_b, width));
  for (auto& l : wrap_text(printable(b), width)) out.push_back(l);
  return out;
}

}  // namespace wb::cli
