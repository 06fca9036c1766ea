// completion_stream.h — one OpenAI request running in the serving plugin, as an HTTP response.
//
// CompletionStream::submit() hands the request to wb_serving.submit() (errors → ApiError, see
// serving.h) and returns the StreamSource the handler puts in its Response. The plugin's events
// ({"type":"token","index",...}, {"type":"done"...}) become, with "stream": true, server-sent events
//     data: {"id","object":"text_completion"|"chat.completion.chunk","created","model","choices":[..]}
// one chunk per token of choice `index`, then a chunk per choice carrying its finish_reason, then
// (only with stream_options.include_usage, as OpenAI does) a chunk with "choices": [] and the
// usage, then `data: [DONE]`; without "stream", one JSON body (choices[i].text or .message,
// finish_reason, logprobs; usage) sent when the request is done, with its status (a buffered
// StreamSource: nothing is sent before). With logprobs asked for, each token carries OpenAI's
// chat shape (logprobs.content[] of {token, logprob, bytes, top_logprobs}) or the completions
// (legacy) shape (logprobs {tokens, token_logprobs, top_logprobs, text_offset}).
// Events that arrive before the server attaches its sink are buffered. When the client goes
// away (stop() before "done") the request is cancelled in the plugin: the event callback
// returns nonzero and wb_serving.cancel() is called. The object keeps itself alive until the
// plugin's "done" event, so the plugin never calls back into freed memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http/message.h"
#include "serving/openai_request.h"
#include "serving/serving_metrics.h"
#include "wb/wb_plugin.h"

namespace wb::daemon {

class CompletionStream : public StreamSource {
 public:
  // `request.plugin` is what the plugin's submit() takes (its "model" names the base or an adapter).
  static std::shared_ptr<CompletionStream> submit(const wb_serving& serving, const OpenAiRequest& request,
                                                  std::shared_ptr<ServingMetrics> metrics);

  void start(Sink sink) override;
  void stop() override;
  // Without "stream": one JSON answer whose status (200, or 500 when generation failed after
  // the request was accepted) is sent with it.
  bool buffered() const override { return !req_.stream; }
  int final_status() const override;
  ~CompletionStream() override = default;

  // Content type of the response: text/event-stream or application/json.
  std::string content_type() const;

  CompletionStream(const wb_serving& serving, OpenAiRequest request, std::shared_ptr<ServingMetrics> metrics);

 private:
  static int on_event_cb(void* user, const char* event_json);
  int on_event(const char* event_json);
  void emit_locked(std::string chunk, bool last);
  std::string chunk_json(const nlohmann::json& choices, const nlohmann::json* usage) const;
  nlohmann::json final_body(const nlohmann::json& reasons, const nlohmann::json& usage) const;
  // The logprobs of one token event in the endpoint's shape (appended to `into`, a choice's
  // running logprobs object), or nothing when the event has none.
  void add_logprobs(const nlohmann::json& ev, nlohmann::json& into) const;
  nlohmann::json empty_logprobs() const;

  struct Choice {
    std::string text;        // non-streamed: the whole completion
    nlohmann::json logprobs; // non-streamed: accumulated (null when not asked for)
    bool role_sent = false;  // streamed chat: the first delta carries the role
  };

  const wb_serving& serving_;
  OpenAiRequest req_;
  std::shared_ptr<ServingMetrics> metrics_;
  std::string id_;
  std::int64_t created_ = 0;
  std::chrono::steady_clock::time_point submitted_ = std::chrono::steady_clock::now();

  mutable std::mutex mu_;
  std::shared_ptr<CompletionStream> self_;  // set while the plugin may still call back
  Sink sink_;
  std::string pending_;        // chunks produced before start()
  bool pending_last_ = false;
  bool done_ = false;          // "done" seen
  bool stopped_ = false;       // the server stopped the stream (client gone)
  std::uint64_t request_id_ = 0;
  bool have_id_ = false;
  std::vector<Choice> choices_;  // by index
  std::int64_t tokens_ = 0;    // token events seen
  int final_status_ = 200;     // non-streamed: 500 when generation failed
};

}  // namespace wb::daemon
