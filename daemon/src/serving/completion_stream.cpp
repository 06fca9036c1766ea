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

std::string CompletionStream::chunk_json(const json& choices, const json* usage) const {
  json j = {{"id", id_},
            {"object", req_.endpoint == Endpoint::Chat ? "chat.completion.chunk" : "text_completion"},
            {"created", created_},
            {"model", req_.model},
            {"choices", choices}};
  if (usage) j["usage"] = *usage;
  else if (req_.include_usage) j["usage"] = nullptr;  // as OpenAI: every chunk but the last says null
  return dump(j);
}

json CompletionStream::empty_logprobs() const {
  if (req_.logprobs < 0) return nullptr;
  if (req_.endpoint == Endpoint::Chat) return {{"content", json::array()}};
  return {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()},
          {"text_offset", json::array()}};
}

void CompletionStream::add_logprobs(const json& ev, json& into) const {
  if (req_.logprobs < 0 || !ev.contains("token") || !ev.contains("logprob")) return;  // a text-only tail event
  const json top = ev.value("top_logprobs", json::array());
  if (req_.endpoint == Endpoint::Chat) {
    json alts = json::array();
    for (const json& t : top) alts.push_back({{"token", t["token"]}, {"logprob", t["logprob"]}, {"bytes", t["bytes"]}});
    into["content"].push_back(
        {{"token", ev["token"]}, {"logprob", ev["logprob"]}, {"bytes", ev.value("bytes", json::array())}, {"top_logprobs", alts}});
  } else {
    json alts = json::object();
    for (const json& t : top) {
      const std::string k = t["token"].get<std::string>();
      if (!alts.contains(k)) alts[k] = t["logprob"];  // two ids with one text: the likelier one
    }
    into["tokens"].push_back(ev["token"]);
    into["token_logprobs"].push_back(ev["logprob"]);
    into["top_logprobs"].push_back(alts);
    into["text_offset"].push_back(ev.value("text_offset", 0));
  }
}

json CompletionStream::final_body(const json& reasons, const json& usage) const {
  json list = json::array();
  for (std::size_t i = 0; i < choices_.size(); ++i) {
    json choice = {{"index", i}, {"finish_reason", reasons[i]}};
    if (req_.endpoint == Endpoint::Chat)
      choice["message"] = {{"role", "assistant"}, {"content", choices_[i].text}};
    else
      choice["text"] = choices_[i].text;
    choice["logprobs"] = choices_[i].logprobs;
    list.push_back(choice);
  }
  return {{"id", id_},
          {"object", req_.endpoint == Endpoint::Chat ? "chat.completion" : "text_completion"},
          {"created", created_},
          {"model", req_.model},
          {"choices", list},
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
  if (choices_.empty()) choices_.assign(static_cast<std::size_t>(req_.n), Choice{"", empty_logprobs(), false});
  const std::string type = ev.is_object() ? ev.value("type", "") : "";
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - submitted_).count();
  if (type == "token") {
    std::string piece = ev.contains("text") && ev["text"].is_string() ? ev["text"].get<std::string>() : "";
    const std::int64_t index = ev.contains("index") && ev["index"].is_number_integer() ? ev["index"].get<std::int64_t>() : 0;
    if (index < 0 || index >= static_cast<std::int64_t>(choices_.size())) return stopped_ ? 1 : 0;
    Choice& ch = choices_[static_cast<std::size_t>(index)];
    if (tokens_++ == 0) metrics_->first_token(seconds);
    if (req_.stream) {
      json choice = {{"index", index}};
      json lp = empty_logprobs();
      add_logprobs(ev, lp);
      if (req_.endpoint == Endpoint::Chat) {
        json delta = {{"content", piece}};
        if (!ch.role_sent) delta["role"] = "assistant";
        ch.role_sent = true;
        choice["delta"] = delta;
      } else {
        choice["text"] = piece;
      }
      choice["logprobs"] = lp;
      choice["finish_reason"] = nullptr;
      emit_locked(sse(chunk_json(json::array({choice}), nullptr)), false);
    } else {
      ch.text += piece;
      add_logprobs(ev, ch.logprobs);
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
  // Each choice's finish_reason (the plugin's "choices"; the request's reason for a lone choice).
  json reasons = json::array();
  for (std::size_t i = 0; i < choices_.size(); ++i) {
    std::string r = reason;
    if (ev.contains("choices") && ev["choices"].is_array() && i < ev["choices"].size() && ev["choices"][i].is_object())
      r = ev["choices"][i].value("finish_reason", reason);
    reasons.push_back(r);
  }
  if (req_.stream) {
    std::string out;
    for (std::size_t i = 0; i < choices_.size(); ++i) {
      json choice = {{"index", i}};
      if (req_.endpoint == Endpoint::Chat) choice["delta"] = json::object();
      else choice["text"] = "";
      choice["logprobs"] = nullptr;
      choice["finish_reason"] = reasons[i];
      out += sse(chunk_json(json::array({choice}), nullptr));
    }
    if (req_.include_usage) out += sse(chunk_json(json::array(), &usage));
    emit_locked(out + sse("[DONE]"), true);
  } else {
    emit_locked(dump(final_body(reasons, usage)), true);
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
