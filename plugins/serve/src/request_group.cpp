#include "request_group.h"

namespace wb::serve {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

RequestGroup::RequestGroup(Info info, EventFn on_event, ServeMetrics& metrics)
    : info_(std::move(info)), on_event_(std::move(on_event)), metrics_(metrics), choices_(static_cast<size_t>(info_.n)) {}

bool RequestGroup::emit(const json& event) {
  if (client_gone_) return false;
  const bool keep = on_event_(event.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!keep) client_gone_ = true;
  return keep;
}

void RequestGroup::first_token() {
  if (ttft_s_) return;
  ttft_s_ = std::chrono::duration<double>(Clock::now() - info_.submitted).count();
  metrics_.first_token(*ttft_s_);
}

void RequestGroup::choice_finished(int64_t index, const std::string& reason, const std::string& error,
                                   int64_t generated, const std::vector<int64_t>& unstarted) {
  auto end = [&](int64_t i, int64_t tokens) {
    Choice& c = choices_.at(static_cast<size_t>(i));
    if (c.ended) return;
    c = {reason, tokens, true};
    ++ended_;
  };
  end(index, generated);
  for (int64_t i : unstarted) end(i, 0);
  if (reason == "error" && error_.empty()) error_ = error.empty() ? "generation failed" : error;
  if (!error.empty() && error_.empty()) error_ = error;  // e.g. "the model was unloaded"
  if (!complete()) return;

  std::string top = choices_[0].reason;
  int64_t completion = 0;
  json list = json::array();
  for (size_t i = 0; i < choices_.size(); ++i) {
    completion += choices_[i].generated;
    if (choices_[i].reason == "error") top = "error";
    list.push_back({{"index", i}, {"finish_reason", choices_[i].reason}, {"completion_tokens", choices_[i].generated}});
  }
  const double latency = std::chrono::duration<double>(Clock::now() - info_.submitted).count();
  json done = {{"type", "done"},
               {"id", info_.id},
               {"finish_reason", top},
               {"usage", {{"prompt_tokens", info_.prompt_tokens}, {"completion_tokens", completion},
                          {"total_tokens", info_.prompt_tokens + completion}}},
               {"choices", list},
               {"model", info_.model_name},
               {"adapter", info_.adapter ? json(*info_.adapter) : json(nullptr)},
               {"adapter_version", info_.adapter_version ? json(*info_.adapter_version) : json(nullptr)},
               {"ttft_s", ttft_s_ ? json(*ttft_s_) : json(nullptr)},
               {"latency_s", latency}};
  if (!error_.empty()) done["error"] = error_;
  metrics_.finished(top, info_.prompt_tokens, completion, latency);
  // Always delivered, also after the callback asked to cancel: the host may wait for it.
  on_event_(done.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace wb::serve
