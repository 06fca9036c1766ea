#include "wb/cli/sse_reader.h"

namespace wb::cli {

SseReader::SseReader(std::function<bool(const std::string&)> on_event) : on_event_(std::move(on_event)) {}

bool SseReader::feed(std::string_view bytes) {
  if (stopped_) return false;
  buf_.append(bytes);
  std::size_t start = 0;
  for (;;) {
    std::size_t nl = buf_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view l(buf_.data() + start, nl - start);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    line(l);
    start = nl + 1;
    if (stopped_) break;
  }
  buf_.erase(0, start);
  return !stopped_;
}

void SseReader::line(std::string_view l) {
  if (l.empty()) {  // end of an event
    if (has_data_ && !on_event_(data_)) stopped_ = true;
    data_.clear();
    has_data_ = false;
    return;
  }
  if (l.front() == ':') return;  // comment
  std::size_t colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field != "data") return;
  if (has_data_) data_ += '\n';
  data_.append(value);
  has_data_ = true;
}

}  // namespace wb::cli
