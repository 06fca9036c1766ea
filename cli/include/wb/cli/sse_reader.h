// sse_reader.h — splits a text/event-stream body (server-sent events) into events as its bytes
// arrive, in whatever pieces the connection delivers them.
//
//   SseReader r([](const std::string& data) { ...; return true; });   // false stops
//   r.feed(piece);  ...
//
// An event ends at a blank line; its `data:` lines are joined with '\n' (one space after the
// colon is dropped, as the SSE spec says). Comment lines (":...") and other fields are skipped;
// "\r\n" and "\n" line ends are both accepted.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace wb::cli {

class SseReader {
 public:
  explicit SseReader(std::function<bool(const std::string& data)> on_event);
  // Consumes bytes; returns false once on_event returned false (the rest is ignored).
  bool feed(std::string_view bytes);

 private:
  void line(std::string_view l);

  std::function<bool(const std::string&)> on_event_;
  std::string buf_;   // an incomplete line
  std::string data_;  // data lines of the current event
  bool has_data_ = false;
  bool stopped_ = false;
};

}  // namespace wb::cli
