// field_path.h — which field a JSON parse is inside, from nlohmann's parser-callback events, so
// an error inside a value (a number beyond the double range) can name the field:
//
//   wb::JsonFieldPath path;
//   auto cb = [&](int, nlohmann::json::parse_event_t ev, nlohmann::json& parsed) { path.on(ev, parsed); return true; };
//   try { nlohmann::json::parse(text, cb); }
//   catch (const nlohmann::json::out_of_range&) { ... "field '" + path.text() + "'" ... }
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wb {

// Where the parser is, as a field path ("spec.steps", "messages[2].content"), kept from the
// parser's callback events so an error inside a value can name the field it belongs to.
class JsonFieldPath {
 public:
  // Feed every callback event (with the callback's `parsed` argument) in order.
  void on(nlohmann::json::parse_event_t event, const nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    switch (event) {
      case E::object_start: frames_.push_back({false, {}, 0}); break;
      case E::array_start: frames_.push_back({true, {}, 0}); break;
      case E::key:
        if (!frames_.empty() && parsed.is_string()) frames_.back().key = parsed.get<std::string>();
        break;
      case E::object_end:
      case E::array_end:
        if (!frames_.empty()) frames_.pop_back();
        [[fallthrough]];
      case E::value:
        if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
        break;
    }
  }
  // The field being parsed now: "" at the top level.
  std::string text() const {
    std::string out;
    for (const Frame& f : frames_) {
      if (f.array) out += "[" + std::to_string(f.index) + "]";
      else out += (out.empty() ? "" : ".") + f.key;
    }
    return out;
  }

 private:
  struct Frame {
    bool array;
    std::string key;
    int64_t index;
  };
  std::vector<Frame> frames_;
};


}  // namespace wb
