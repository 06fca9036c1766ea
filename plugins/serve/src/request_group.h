// RequestGroup: the n answers ("choices") of one request, sampled from one prefilled prompt.
//
// Every ActiveRequest of a request (choice 0, which prefills, and the n - 1 forked from its
// cache) holds the group; tokens go out through emit() (the request's one event callback) and
// each choice reports its end with choice_finished(). When the last choice has ended, the group
// sends the request's one done event: finish_reason (choice 0's, or "error" when any choice
// failed), usage (the prompt once, the completion tokens of all choices), and "choices":
// [{"index","finish_reason","completion_tokens"}]. A choice 0 that ends before it forked (queued
// cancel, an error, max_tokens 0) ends the choices never started with it. Decode thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "serve_metrics.h"

namespace wb::serve {

// Receives one event's JSON; returns false to cancel the request (client went away).
using EventFn = std::function<bool(const std::string& event_json)>;

class RequestGroup {
 public:
  struct Info {
    uint64_t id = 0;
    int64_t n = 1;
    int64_t prompt_tokens = 0;
    std::string model_name;
    std::optional<std::string> adapter;
    std::optional<uint64_t> adapter_version;
    std::chrono::steady_clock::time_point submitted;
  };
  RequestGroup(Info info, EventFn on_event, ServeMetrics& metrics);

  // Sends a token event; false once the callback asked to cancel (the client went away).
  bool emit(const nlohmann::json& event);
  // The first token of any choice: time to first token, once per request.
  void first_token();
  // Choice `index` ended after `generated` tokens. unstarted: choices that will never run (ended
  // with the same reason). Sends the done event when every choice has ended.
  void choice_finished(int64_t index, const std::string& reason, const std::string& error, int64_t generated,
                       const std::vector<int64_t>& unstarted = {});
  bool complete() const { return ended_ == info_.n; }
  int64_t n() const { return info_.n; }

 private:
  struct Choice {
    std::string reason;
    int64_t generated = 0;
    bool ended = false;
  };
  Info info_;
  EventFn on_event_;
  ServeMetrics& metrics_;
  std::vector<Choice> choices_;
  int64_t ended_ = 0;
  std::string error_;
  bool client_gone_ = false;
  std::optional<double> ttft_s_;
};

}  // namespace wb::serve
