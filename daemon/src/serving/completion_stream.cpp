#include "serving/completion_stream.h"

#include <atomic>
#include <cstring>
#include <ctime>

#include "http/api_error.h"
#include "serving/serving.h"

namespace wb::daemon {

using nlohmann::json;

namespace {
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string sse(const std::string& data) { return "data: " + data + "\n\n"; }
}  // namespace

CompletionStream::CompletionStream(const wb_serving& serving, OpenAiRequest request,
                                   std::shared_ptr<ServingMetrics> metrics)
    : serving_(serving), req_(std::move(request)), metrics_(std::move(metrics)), created_(std::time(nullptr)) {
  static std::atomic<std::uint64_t> next{1};
  id_ = std::string(req_.endpoint == Endpoint::Chat ? "chatcmpl-" : "cmpl-") + std::to_string(created_) + "-" +
        std::to_string(next++);
}

std::shared_ptr<CompletionStream> CompletionStream::submit(const wb_serving& serving, const OpenAiRequest& request,
                                                           std::shared_ptr<ServingMetrics> metrics) {
  auto s = std::make_shared<CompletionStream>(serving, request, std::move(metrics));
  std::string text = dump(s->req_.plugin);
  std::uint64_t id = 0;
  wb_error err{};
  wb_status st = WB_ERROR;
  {
    std::lock_guard<std::mutex> lk(s->mu_);
    s->self_ = s;  // the plugin may call back (even "done") before submit() returns
  }
  try {
    st = serving.submit(text.c_str(), &CompletionStream::on_event_cb, s.get(), &id, &err);
  } catch (...) {
    st = WB_ERROR;
    wb_error_set(&err, "submit() threw an exception across the C ABI");
  }
  err.message[WB_ERROR_CAPACITY - 1] = 0;
  std::lock_guard<std::mutex> lk(s->mu_);
  if (st != WB_OK) {
    s->self_.reset();  // no callback follows a failed submit
    Serving::fail(st, err, "submit()", false);
  }
  s->request_id_ = id;
  s->have_id_ = true;
  return s;
}

std::string CompletionStream::content_type() const {
  return req_.stream ? "text/event-stream" : "application/json";
}

int CompletionStream::on_event_cb(void* user, const char* event_json) {
  try {
    return static_cast<CompletionStream*>(user)->on_event(event_json);
  } catch (...) {
    return 1;  // never throw into the plugin; cancel the request instead
  }
}

std::string CompletionStream::chunk_json(const json& choice, const json* usage) const {
  json j = {{"id", id_},
            {"object", req_.endpoint == Endpoint::Chat ? "chat.completion.chunk" : "text_completion"},
            {"created", created_},
            {"model", req_.model},
            {"choices", json::array({choice})}};
  if (usage) j["usage"] = *usage;
  return dump(j);
}

json CompletionStream::final_body(const std::string& finish_reason, const json& usage) const {
  json choice = {{"index", 0}, {"finish_reason", finish_reason}};
  if (req_.endpoint == Endpoint::Chat) {
    choice["message"] = {{"role", "assistant"}, {"content", text_}};
  } else {
    choice["text"] = text_;
    choice["logprobs"] = nullptr;
  }
  return {{"id", id_},
          {"object", req_.endpoint == Endpoint::Chat ? "chat.completion" : "text_completion"},
          {"created", created_},
          {"model", req_.model},
          {"choices", json::array({choice})},
          {"usage", usage}};
}

void CompletionStream::emit_locked(std::string chunk, bool last) {
  if (stopped_) return;
  if (sink_) {
    sink_(std::move(chunk), last);
  } else {
    pending_ += chunk;
    pending_last_ = pending_last_ || last;
  }
}

int CompletionStream::on_event(const char* event_json) {
  json ev = json::parse(event_json ? event_json : "", nullptr, false);
  std::shared_ptr<CompletionStream> keep;  // destroyed last, after the lock below is released
  std::lock_guard<std::mutex> lk(mu_);
  if (done_) return 1;
  const std::string type = ev.is_object() ? ev.value("type", "") : "";
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - submitted_).count();
  if (type == "token") {
    std::string piece = ev.contains("text") && ev["text"].is_string() ? ev["text"].get<std::string>() : "";
    if (tokens_++ == 0) metrics_->first_token(seconds);
    if (req_.stream) {
      json choice = {{"index", 0}, {"finish_reason", nullptr}};
      if (req_.endpoint == Endpoint::Chat) {
        json delta = {{"content", piece}};
        if (tokens_ == 1) delta["role"] = "assistant";
        choice["delta"] = delta;
      } else {
        choice["text"] = piece;
        choice["logprobs"] = nullptr;
      }
      emit_locked(sse(chunk_json(choice, nullptr)), false);
    } else {
      text_ += piece;
    }
    return stopped_ ? 1 : 0;
  }
  if (type != "done") return stopped_ ? 1 : 0;  // unknown event kinds are ignored

  done_ = true;
  keep = std::move(self_);
  std::string reason = ev.value("finish_reason", "stop");
  json in = ev.contains("usage") && ev["usage"].is_object() ? ev["usage"] : json::object();
  std::int64_t prompt = in.contains("prompt_tokens") && in["prompt_tokens"].is_number_integer() ? in["prompt_tokens"].get<std::int64_t>() : 0;
  std::int64_t completion = in.contains("completion_tokens") && in["completion_tokens"].is_number_integer()
                                ? in["completion_tokens"].get<std::int64_t>() : tokens_;
  json usage = {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
  metrics_->finished(endpoint_name(req_.endpoint), reason, prompt, completion, seconds);

  if (reason == "error") {
    std::string msg = ev.contains("error") && ev["error"].is_string() ? ev["error"].get<std::string>() : "generation failed";
    json err = {{"error", {{"code", "generation_failed"}, {"message", msg}}}};
    final_status_ = 500;
    emit_locked(req_.stream ? sse(dump(err)) + sse("[DONE]") : dump(err), true);
    return 1;
  }
  if (req_.stream) {
    json choice = {{"index", 0}, {"finish_reason", reason}};
    if (req_.endpoint == Endpoint::Chat) choice["delta"] = json::object();
    else {
      choice["text"] = "";
      choice["logprobs"] = nullptr;
    }
    emit_locked(sse(chunk_json(choice, &usage)) + sse("[DONE]"), true);
  } else {
    emit_locked(dump(final_body(reason, usage)), true);
  }
  return 1;
}

int CompletionStream::final_status() const {
  std::lock_guard<std::mutex> lk(mu_);
  return final_status_;
}

void CompletionStream::start(Sink sink) {
  std::lock_guard<std::mutex> lk(mu_);
  if (stopped_) return;
  sink_ = std::move(sink);
  if (!pending_.empty() || pending_last_) {
    sink_(std::move(pending_), pending_last_);
    pending_.clear();
  }
}

void CompletionStream::stop() {
  bool cancel = false;
  std::uint64_t id = 0;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stopped_) return;
    stopped_ = true;
    sink_ = nullptr;
    cancel = !done_ && have_id_;
    id = request_id_;
  }
  // Outside the lock: the plugin may be delivering an event to this object right now.
  if (cancel) serving_.cancel(id);
}

}  // namespace wb::daemon
