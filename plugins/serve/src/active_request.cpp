#include "active_request.h"

#include <algorithm>
#include <cmath>

namespace wb::serve {

namespace {
// log softmax(logits)[tok], in double.
double log_prob(std::span<const float> logits, int32_t tok) {
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  return static_cast<double>(logits[static_cast<size_t>(tok)]) - mx - std::log(sum);
}
}  // namespace

using nlohmann::json;
using Clock = std::chrono::steady_clock;

ActiveRequest::ActiveRequest(PreparedRequest req, const llama::LlamaConfig& config,
                             std::unique_ptr<llama::BackendSequence> seq, const llama::Tokenizer* tokenizer,
                             ServeMetrics& metrics, std::atomic<int64_t>* running)
    : req_(std::move(req)),
      seq_(std::move(seq)),
      tok_(tokenizer),
      stops_(req_.stop),
      rng_(req_.sampling.seed),
      metrics_(metrics),
      running_(running),
      eos_(static_cast<int32_t>(config.eos_token_id)) {
  if (tok_) text_.emplace(*tok_);
}

std::vector<int32_t> ActiveRequest::next_feed(int64_t chunk) const {
  if (!prefilling()) return {last_};
  const size_t end = std::min(req_.prompt.size(), (fed_ / static_cast<size_t>(chunk) + 1) * static_cast<size_t>(chunk));
  return std::vector<int32_t>(req_.prompt.begin() + static_cast<ptrdiff_t>(fed_),
                              req_.prompt.begin() + static_cast<ptrdiff_t>(end));
}

bool ActiveRequest::emit(const json& event) {
  if (client_gone_) return false;
  const bool keep = req_.on_event(event.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!keep) client_gone_ = true;
  return keep;
}

bool ActiveRequest::accept_logits(std::span<const float> logits, int64_t fed) {
  if (prefilling()) {
    fed_ += static_cast<size_t>(fed);
    if (prefilling()) return false;  // more prompt chunks to go
  }
  if (req_.max_tokens == 0) {
    finish("length");
    return true;
  }
  const int32_t tok = llama::sample_token(logits, req_.sampling, rng_);
  if (!ttft_s_) {
    ttft_s_ = std::chrono::duration<double>(Clock::now() - req_.submitted).count();
    metrics_.first_token(*ttft_s_);
  }
  if (req_.stop_at_eos && tok == eos_) {
    finish("stop");
    return true;
  }
  ++generated_;
  last_ = tok;
  metrics_.tokens(1);
  std::string piece;
  bool stopped = false;
  if (text_) {
    const auto st = stops_.push(text_->push(tok));
    piece = st.emit;
    stopped = st.stopped;
  }
  const bool at_limit = generated_ >= req_.max_tokens || seq_->length() >= seq_->max_tokens();
  if (!stopped && at_limit && text_) {  // the last token: release what the pipeline holds back
    const auto st = stops_.push(text_->finish());
    piece += st.emit;
    stopped = st.stopped;
    if (!stopped) piece += stops_.flush();
  }
  if (!emit({{"type", "token"}, {"text", piece}, {"token_id", tok}, {"logprob", log_prob(logits, tok)}})) {
    finish("cancelled");
    return true;
  }
  if (stopped || at_limit) {
    finish(stopped ? "stop" : "length");
    return true;
  }
  return false;
}

void ActiveRequest::finish(const std::string& reason, const std::string& error) {
  if (done_) return;
  done_ = true;
  // EOS (or a cancel) can leave text held back by the stop matcher; EOS releases it.
  if (reason == "stop" && text_ && !stops_.stopped()) {
    std::string tail = stops_.push(text_->finish()).emit;
    if (!stops_.stopped()) tail += stops_.flush();
    if (!tail.empty()) emit({{"type", "token"}, {"text", tail}, {"token_id", -1}});
  }
  const int64_t prompt_tokens = static_cast<int64_t>(req_.prompt.size());
  const double latency = std::chrono::duration<double>(Clock::now() - req_.submitted).count();
  json done = {{"type", "done"},
               {"id", req_.id},
               {"finish_reason", reason},
               {"usage", {{"prompt_tokens", prompt_tokens}, {"completion_tokens", generated_},
                          {"total_tokens", prompt_tokens + generated_}}},
               {"model", req_.model_name},
               {"adapter", req_.adapter ? json(req_.adapter->name) : json(nullptr)},
               {"adapter_version", req_.adapter ? json(req_.adapter->version) : json(nullptr)},
               {"ttft_s", ttft_s_ ? json(*ttft_s_) : json(nullptr)},
               {"latency_s", latency}};
  if (!error.empty()) done["error"] = error;
  metrics_.finished(reason, prompt_tokens, generated_, latency);
  // Release before telling: a client that sees "done" then reads stats finds this request gone.
  seq_.reset();
  req_.adapter.reset();
  if (running_) --*running_;
  // Always delivered, also after the callback asked to cancel: the host may wait for it.
  req_.on_event(done.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace wb::serve
