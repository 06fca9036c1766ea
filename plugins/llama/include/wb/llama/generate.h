// generate(): complete a batch of prompts with a Decoder — each request with its own adapter,
// sampling parameters and seed, max_tokens, EOS and stop strings. This is the simple static-batch
// driver (wb-engine generate, RLHF sampling, tests); the serve plugin builds continuous batching
// on Decoder directly with the same pieces (sampler.h, StopMatcher).
//
// The engine does not depend on the tokenizer: a request that uses stop strings supplies
// `detokenize`, called once per generated token in order and returning the text that token adds
// (typically a lambda over its own tokenizer StreamDecoder).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "wb/llama/model.h"
#include "wb/llama/sampler.h"

namespace wb::llama {

enum class FinishReason {
  kLength,   // max_tokens generated, or the context length reached
  kEos,      // the model produced EOS (config.eos_token_id); EOS is not part of the output
  kStop,     // a stop string appeared; the output text ends before it
  kCancelled // on_token returned false
};
const char* finish_reason_name(FinishReason r);  // "length" | "eos" | "stop" | "cancelled"

struct GenerateRequest {
  std::vector<int32_t> prompt;                 // non-empty (usually starts with BOS)
  const LoraAdapter<float>* adapter = nullptr; // nullptr: the base model
  SamplingParams sampling;
  int64_t max_tokens = 128;
  bool stop_at_eos = true;
  std::vector<std::string> stop;               // needs detokenize
  std::function<std::string(int32_t)> detokenize;
  // Streaming: called with each token and the text released for it (stop-string safe);
  // return false to cancel the request.
  std::function<bool(int32_t, const std::string&)> on_token;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated ids (EOS excluded)
  std::string text;             // concatenated detokenized text, cut before a stop string
  FinishReason finish = FinishReason::kLength;
};

// Runs every request to completion, decoding all unfinished ones together each step.
// Throws std::invalid_argument naming the request and field (empty prompt, token id outside the
// vocabulary, prompt longer than the context, stop strings without detokenize, bad sampling).
std::vector<GenerateResult> generate(const Model<float>& model, const std::vector<GenerateRequest>& requests,
                                     int64_t prefill_chunk = 256);

}  // namespace wb::llama
