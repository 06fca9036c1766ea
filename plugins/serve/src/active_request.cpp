#include "active_request.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace wb::serve {

using nlohmann::json;

namespace {

// log softmax of a logits row, in double: lse = log sum exp(logits); log p(t) = logits[t] - lse.
double log_sum_exp(std::span<const float> logits) {
  double mx = logits[0];
  for (float v : logits) mx = std::max(mx, static_cast<double>(v));
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - mx);
  return mx + std::log(sum);
}

// The bytes a token stands for in text: its piece with "▁" as a space, a byte piece's byte,
// nothing for a control token (BOS/EOS). Without a tokenizer: nothing.
std::string token_bytes(const llama::Tokenizer* tok, int32_t id) {
  if (!tok || id < 0 || id >= tok->vocab_size() || tok->is_control(id)) return {};
  if (tok->is_byte(id)) return std::string(1, static_cast<char>(tok->byte_value(id)));
  if (tok->is_unknown(id)) return tok->unk_surface();
  std::string piece = tok->id_to_piece(id), out;
  static const std::string kSpace = "\xE2\x96\x81";  // U+2581 "▁"
  for (size_t i = 0; i < piece.size();) {
    if (piece.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += piece[i++];
    }
  }
  return out;
}

json byte_list(const std::string& s) {
  json b = json::array();
  for (unsigned char c : s) b.push_back(static_cast<int>(c));
  return b;
}

// The seed of choice `index`: choice 0 keeps the request's seed (so n = 1 and choice 0 agree).
uint64_t choice_seed(uint64_t seed, int64_t index) {
  if (index == 0) return seed;
  uint64_t z = seed + static_cast<uint64_t>(index) * 0x9e3779b97f4a7c15ULL;  // splitmix64
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::shared_ptr<RequestGroup> make_group(const PreparedRequest& r, ServeMetrics& metrics) {
  RequestGroup::Info info;
  info.id = r.id;
  info.n = r.n;
  info.prompt_tokens = static_cast<int64_t>(r.prompt.size());
  info.model_name = r.model_name;
  if (r.adapter) {
    info.adapter = r.adapter->name;
    info.adapter_version = r.adapter->version;
  }
  info.submitted = r.submitted;
  return std::make_shared<RequestGroup>(std::move(info), r.on_event, metrics);
}

}  // namespace

ActiveRequest::ActiveRequest(PreparedRequest req, const llama::LlamaConfig& config,
                             std::unique_ptr<llama::BackendSequence> seq, const llama::Tokenizer* tokenizer,
                             ServeMetrics& metrics, std::atomic<int64_t>* running)
    : ActiveRequest(req, 0, make_group(req, metrics), static_cast<int32_t>(config.eos_token_id), std::move(seq),
                    tokenizer, metrics, running) {}

ActiveRequest::ActiveRequest(PreparedRequest req, int64_t index, std::shared_ptr<RequestGroup> group, int32_t eos,
                             std::unique_ptr<llama::BackendSequence> seq, const llama::Tokenizer* tokenizer,
                             ServeMetrics& metrics, std::atomic<int64_t>* running)
    : req_(std::move(req)),
      index_(index),
      group_(std::move(group)),
      seq_(std::move(seq)),
      tok_(tokenizer),
      stops_(req_.stop),
      rng_(choice_seed(req_.sampling.seed, index)),
      metrics_(metrics),
      running_(running),
      eos_(eos) {
  if (tok_) text_.emplace(*tok_);
}

std::unique_ptr<ActiveRequest> ActiveRequest::make_sibling(std::unique_ptr<llama::BackendSequence> seq) {
  auto s = std::make_unique<ActiveRequest>(req_, next_choice_++, group_, eos_, std::move(seq), tok_, metrics_, running_);
  if (running_) ++*running_;
  s->fed_ = req_.prompt.size();
  s->next_choice_ = req_.n;
  return s;
}

bool ActiveRequest::needs_fork(int64_t fed) const {
  return index_ == 0 && next_choice_ < req_.n && !done_ && req_.max_tokens > 0 && prefilling() &&
         fed_ + static_cast<size_t>(fed) >= req_.prompt.size();
}

std::vector<int32_t> ActiveRequest::next_feed(int64_t chunk) const {
  if (!prefilling()) return {last_};
  const size_t end = std::min(req_.prompt.size(), (fed_ / static_cast<size_t>(chunk) + 1) * static_cast<size_t>(chunk));
  return std::vector<int32_t>(req_.prompt.begin() + static_cast<ptrdiff_t>(fed_),
                              req_.prompt.begin() + static_cast<ptrdiff_t>(end));
}

bool ActiveRequest::emit(json event) {
  event["index"] = index_;
  return group_->emit(event);
}

void ActiveRequest::add_logprobs(json& event, std::span<const float> logits, int32_t tok, size_t text_offset) const {
  const double lse = log_sum_exp(logits);
  const std::string bytes = token_bytes(tok_, tok);
  event["token"] = bytes;  // invalid UTF-8 (a byte piece) is replaced when the event is written
  event["bytes"] = byte_list(bytes);
  event["text_offset"] = text_offset;
  json top = json::array();
  const size_t k = std::min(static_cast<size_t>(req_.logprobs), logits.size());
  if (k > 0) {
    std::vector<int32_t> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(k), ids.end(), [&](int32_t a, int32_t b) {
      return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)] ||
             (logits[static_cast<size_t>(a)] == logits[static_cast<size_t>(b)] && a < b);
    });
    for (size_t i = 0; i < k; ++i) {
      const std::string b = token_bytes(tok_, ids[i]);
      top.push_back({{"token_id", ids[i]}, {"token", b}, {"bytes", byte_list(b)},
                     {"logprob", static_cast<double>(logits[static_cast<size_t>(ids[i])]) - lse}});
    }
  }
  event["top_logprobs"] = top;
}

bool ActiveRequest::accept_logits(std::span<const float> logits, int64_t fed) {
  if (done_) return true;
  if (prefilling()) {
    fed_ += static_cast<size_t>(fed);
    if (prefilling()) return false;  // more prompt chunks to go
  }
  if (req_.max_tokens == 0) {
    finish("length");
    return true;
  }
  const int32_t tok = llama::sample_token(logits, req_.sampling, rng_);
  group_->first_token();
  if (req_.stop_at_eos && tok == eos_) {
    finish("stop");
    return true;
  }
  ++generated_;
  last_ = tok;
  metrics_.tokens(1);
  std::string piece;
  bool stopped = false;
  const size_t text_offset = text_ ? text_->emitted_bytes() : 0;
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
  json event = {{"type", "token"}, {"text", piece}, {"token_id", tok},
                {"logprob", static_cast<double>(logits[static_cast<size_t>(tok)]) - log_sum_exp(logits)}};
  if (req_.logprobs >= 0) add_logprobs(event, logits, tok, text_offset);
  if (!emit(std::move(event))) {
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
  // EOS (or a cancel) can leave text held back by the stop matcher; EOS releases it.
  if (reason == "stop" && text_ && !stops_.stopped()) {
    std::string tail = stops_.push(text_->finish()).emit;
    if (!stops_.stopped()) tail += stops_.flush();
    if (!tail.empty()) emit({{"type", "token"}, {"text", tail}, {"token_id", -1}});
  }
  // Choices never forked (choice 0 ended before its prompt was in) end with it.
  std::vector<int64_t> unstarted;
  if (index_ == 0)
    for (int64_t i = next_choice_; i < req_.n; ++i) unstarted.push_back(i);
  done_ = true;
  // Release before telling: a client that sees "done" then reads stats finds this request gone.
  seq_.reset();
  req_.adapter.reset();
  if (running_) --*running_;
  group_->choice_finished(index_, reason, error, generated_, unstarted);
}

}  // namespace wb::serve
