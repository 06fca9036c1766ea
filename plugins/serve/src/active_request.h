// ActiveRequest: one admitted answer ("choice") of a request on the decode thread — its sequence on
// the backend (KV cache, adapter, scale; wb/llama/decode_backend.h), its RNG, its output text
// pipeline (StreamDecoder -> StopMatcher) and its RequestGroup (request_group.h: the request's
// event callback and done event). A request with n > 1 is admitted as choice 0; when its prompt
// is in, the engine forks choice 0's sequence n - 1 times (make_sibling) and every choice samples
// its first token from the same logits row with its own RNG.
//
// The engine feeds it: next_feed() says which tokens the sequence needs in the next batched
// forward (a prompt chunk while prefilling, else the last sampled token); after the forward,
// accept_logits() samples from this sequence's logits row (only once the whole prompt is in),
// emits {"type":"token",...}, and decides whether the request is finished (EOS, a stop string,
// max_tokens, the context limit, or the callback asking to cancel). finish() reports the
// choice's end to the group (which sends the request's one {"type":"done",...} event). Everything here runs on the decode thread only, except the
// cancellation flag.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "adapter_registry.h"
#include "request_group.h"
#include "wb/llama/decode_backend.h"
#include "serve_metrics.h"
#include "wb/llama/config.h"
#include "wb/llama/rng.h"
#include "wb/llama/sampler.h"
#include "wb/llama/tokenizer.h"

namespace wb::serve {

// Everything submit() resolved before queueing.
struct PreparedRequest {
  uint64_t id = 0;
  std::vector<int32_t> prompt;
  std::shared_ptr<const ResidentAdapter> adapter;  // nullptr: the base model
  float adapter_scale = 1.0f;                       // multiplies alpha/r
  llama::SamplingParams sampling;
  int64_t max_tokens = 0;
  std::vector<std::string> stop;
  bool stop_at_eos = true;
  int64_t n = 1;                                    // choices (answers) sampled from one prefill
  int64_t logprobs = -1;                            // -1: none; else alternatives per token (0..20)
  bool batch_invariant = false;                     // its decode passes run the row kernel
  std::string model_name;
  EventFn on_event;
  std::shared_ptr<std::atomic<bool>> cancel_flag = std::make_shared<std::atomic<bool>>(false);
  std::chrono::steady_clock::time_point submitted = std::chrono::steady_clock::now();
};

class ActiveRequest {
 public:
  // seq: the request's sequence on the backend (its max_tokens is the request's token limit,
  // prompt + generated); null for a request that ends without running (cancelled while queued).
  // tokenizer may be null (no text). running (nullable) is decremented by finish(), before the
  // done event goes out, so whoever receives "done" sees the engine's counts and adapter
  // references without this request.
  // Choice 0 of the request (it makes the request's RequestGroup).
  ActiveRequest(PreparedRequest req, const llama::LlamaConfig& config, std::unique_ptr<llama::BackendSequence> seq,
                const llama::Tokenizer* tokenizer, ServeMetrics& metrics,
                std::atomic<int64_t>* running = nullptr);

  // Choice `index` of this request, on `seq` (a fork of this choice's prefilled sequence): the
  // prompt counts as fed, its RNG is seeded from the request's seed and the index.
  // Choice `index` of `group` (make_sibling's; choice 0 uses the constructor above).
  ActiveRequest(PreparedRequest req, int64_t index, std::shared_ptr<RequestGroup> group, int32_t eos,
                std::unique_ptr<llama::BackendSequence> seq, const llama::Tokenizer* tokenizer, ServeMetrics& metrics,
                std::atomic<int64_t>* running);

  // Choices are made in order (1, 2, ...); the next one is next_choice().
  std::unique_ptr<ActiveRequest> make_sibling(std::unique_ptr<llama::BackendSequence> seq);
  int64_t next_choice() const { return next_choice_; }
  // True when the forward about to feed `fed` tokens completes the prompt of a choice 0 that
  // still has choices to fork (the engine forks before accept_logits).
  bool needs_fork(int64_t fed) const;
  // Batch slots this request holds: 1, plus (choice 0) the choices not made yet.
  int64_t slots() const { return 1 + (index_ == 0 && !done_ ? req_.n - next_choice_ : 0); }
  // Every choice of the request has ended (its done event went out).
  bool group_complete() const { return group_->complete(); }

  uint64_t id() const { return req_.id; }
  // The request asked for batch-invariant decoding (RequestSpec::batch_invariant).
  bool batch_invariant() const { return req_.batch_invariant; }
  bool cancel_requested() const { return req_.cancel_flag->load(); }
  bool prefilling() const { return fed_ < req_.prompt.size(); }
  // Prompt tokens not yet fed.
  int64_t prompt_left() const { return static_cast<int64_t>(req_.prompt.size() - fed_); }
  // The backend sequence; only while the request runs (not finished, opened with one).
  llama::BackendSequence& sequence() { return *seq_; }

  // Tokens for the next forward: the next prompt chunk (at most `chunk`, split at fixed
  // multiples of `chunk` from the prompt's start so the work is the same in any batch), or the
  // last sampled token.
  std::vector<int32_t> next_feed(int64_t chunk) const;
  // After the forward consumed next_feed(): `logits` is this sequence's row. Returns true when
  // the request has finished (finish() was called).
  bool accept_logits(std::span<const float> logits, int64_t fed);
  // Emits the done event (once), after releasing the sequence (its KV cache, on the GPU its slot)
  // and the adapter reference.
  // reason: "stop" | "length" | "cancelled" | "error".
  void finish(const std::string& reason, const std::string& error = "");
  bool finished() const { return done_; }

 private:
  bool emit(nlohmann::json event);  // adds "index"; false: the callback asked to cancel
  // The per-token details of "logprobs": token text and bytes, text_offset, top alternatives.
  void add_logprobs(nlohmann::json& event, std::span<const float> logits, int32_t tok, size_t text_offset) const;

  PreparedRequest req_;
  int64_t index_ = 0;
  std::shared_ptr<RequestGroup> group_;
  std::unique_ptr<llama::BackendSequence> seq_;
  const llama::Tokenizer* tok_;
  std::optional<llama::StreamDecoder> text_;
  llama::StopMatcher stops_;
  llama::Rng rng_;
  ServeMetrics& metrics_;
  std::atomic<int64_t>* running_;
  int32_t eos_;
  size_t fed_ = 0;                // prompt tokens fed
  int32_t last_ = -1;             // last sampled token (fed next step)
  int64_t generated_ = 0;
  bool done_ = false;
  int64_t next_choice_ = 1;       // choice 0: the next choice to fork (n when all are made)
};

}  // namespace wb::serve
