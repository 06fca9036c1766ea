#include "wb/llama/generate.h"

#include <algorithm>
#include <memory>
#include <span>
#include <stdexcept>

#include "wb/llama/decode.h"

namespace wb::llama {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kLength: return "length";
    case FinishReason::kEos: return "eos";
    case FinishReason::kStop: return "stop";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "?";
}

namespace {

struct Running {
  const GenerateRequest* req = nullptr;
  GenerateResult* out = nullptr;
  std::unique_ptr<DecodeSequence<float>> seq;
  Rng rng;
  StopMatcher stops{{}};
  std::vector<float> logits;  // [V] for the next token
  bool done = false;
};

}  // namespace

std::vector<GenerateResult> generate(const Model<float>& model, const std::vector<GenerateRequest>& requests,
                                     int64_t prefill_chunk) {
  const LlamaConfig& c = model.config;
  for (size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    const std::string where = "request " + std::to_string(i) + ": ";
    if (r.prompt.empty()) throw std::invalid_argument(where + "empty prompt");
    for (int32_t id : r.prompt)
      if (id < 0 || id >= c.vocab_size)
        throw std::invalid_argument(where + "prompt token " + std::to_string(id) + " outside the vocabulary");
    if (static_cast<int64_t>(r.prompt.size()) > c.max_position_embeddings)
      throw std::invalid_argument(where + "prompt of " + std::to_string(r.prompt.size()) +
                                  " tokens exceeds the context length " + std::to_string(c.max_position_embeddings));
    if (r.max_tokens < 0) throw std::invalid_argument(where + "max_tokens must be >= 0");
    if (!r.stop.empty() && !r.detokenize) throw std::invalid_argument(where + "stop strings need a detokenizer");
    try {
      r.sampling.validate();
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(where + e.what());
    }
    if (r.adapter) r.adapter->check_shapes(c);
  }

  std::vector<GenerateResult> results(requests.size());
  std::vector<Running> run(requests.size());
  Decoder<float> dec(model);
  for (size_t i = 0; i < requests.size(); ++i) {
    Running& r = run[i];
    r.req = &requests[i];
    r.out = &results[i];
    const int64_t limit = std::min<int64_t>(c.max_position_embeddings,
                                            static_cast<int64_t>(r.req->prompt.size()) + r.req->max_tokens);
    r.seq = std::make_unique<DecodeSequence<float>>(c, limit);
    r.seq->adapter = r.req->adapter;
    r.rng.reseed(r.req->sampling.seed);
    r.stops = StopMatcher(r.req->stop);
    if (r.req->max_tokens == 0) {
      r.done = true;
      continue;
    }
    dec.prefill(*r.seq, r.req->prompt, r.logits, prefill_chunk);
  }

  std::vector<DecodeSequence<float>*> active;
  std::vector<int32_t> next;
  std::vector<Running*> owners;
  std::vector<float> logits;
  for (;;) {
    active.clear();
    next.clear();
    owners.clear();
    for (Running& r : run) {
      if (r.done) continue;
      const int32_t tok = sample_token(r.logits, r.req->sampling, r.rng);
      auto finish = [&](FinishReason why) {
        r.done = true;
        r.out->finish = why;
        if (why != FinishReason::kStop && why != FinishReason::kCancelled) r.out->text += r.stops.flush();
      };
      if (r.req->stop_at_eos && tok == c.eos_token_id) {
        finish(FinishReason::kEos);
        continue;
      }
      r.out->tokens.push_back(tok);
      std::string piece;
      if (r.req->detokenize) {
        const StopMatcher::Step st = r.stops.push(r.req->detokenize(tok));
        piece = st.emit;
        r.out->text += piece;
        if (st.stopped) {
          if (r.req->on_token) r.req->on_token(tok, piece);
          finish(FinishReason::kStop);
          continue;
        }
      }
      if (r.req->on_token && !r.req->on_token(tok, piece)) {
        finish(FinishReason::kCancelled);
        continue;
      }
      if (static_cast<int64_t>(r.out->tokens.size()) >= r.req->max_tokens ||
          r.seq->length() >= r.seq->cache.max_tokens()) {
        finish(FinishReason::kLength);
        continue;
      }
      active.push_back(r.seq.get());
      next.push_back(tok);
      owners.push_back(&r);
    }
    if (active.empty()) break;
    dec.step(std::span<DecodeSequence<float>* const>(active.data(), active.size()), next, logits);
    for (size_t i = 0; i < owners.size(); ++i)
      owners[i]->logits.assign(logits.begin() + static_cast<ptrdiff_t>(i * c.vocab_size),
                               logits.begin() + static_cast<ptrdiff_t>((i + 1) * c.vocab_size));
  }
  return results;
}

}  // namespace wb::llama
