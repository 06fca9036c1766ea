// RequestSpec: one generation request of the wb_serving submit() call, parsed and checked
// before it is queued (nothing about it is decided on the decode thread).
//
//   {"prompt": "text" | [token ids],  or  "messages": [{"role","content"}, ...],
//    "model": "base-or-adapter-name", "adapter": "name", "adapter_scale": 1.0,
//    "max_tokens": 256, "temperature": 1.0, "top_p": 1.0, "top_k": 0, "seed": 42,
//    "stop": "text" | ["text", ...], "ignore_eos": false, "stream": true,
//    "n": 1, "logprobs": 0..20, "batch_invariant": false}
//
// Exactly one of prompt / messages. "model" names the base model or an adapter (OpenAI's
// `model`); "adapter" names an adapter explicitly (both may be given if they agree). "stream" is
// accepted and ignored (events always stream through the callback). Messages are rendered with
// the Llama 2 chat template by the engine. "n" (1..max_batch, checked by the engine) samples n
// answers that share the prompt's prefill. "logprobs" asks each token event for the token's text
// and bytes and its `logprobs` most likely alternatives (0 = the chosen token only).
// "batch_invariant": true asks for the same tokens whatever else shares the batch (CPU only: every
// decode pass this request is in runs the fixed-order row kernel). Unknown fields, wrong types and out-of-range values
// throw JsonFieldError naming the field (WB_INVALID at the ABI).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/chat_template.h"
#include "wb/llama/sampler.h"

namespace wb::serve {

struct RequestSpec {
  std::optional<std::string> prompt_text;
  std::optional<std::vector<int32_t>> prompt_ids;
  std::optional<std::vector<llama::ChatMessage>> messages;
  std::optional<std::string> model;    // base or adapter name
  std::optional<std::string> adapter;  // adapter name
  std::optional<double> adapter_scale; // default: the adapter's load scale
  int64_t max_tokens = 256;
  llama::SamplingParams sampling;      // temperature 1, top_p 1, top_k 0
  bool seeded = false;                 // false: the engine draws a seed
  std::vector<std::string> stop;
  bool ignore_eos = false;
  int64_t n = 1;                       // answers sampled from one prefill
  int64_t logprobs = -1;               // -1: no per-token details; else alternatives (0..20)
  bool batch_invariant = false;        // its decode passes run the batch-invariant row kernel

  static RequestSpec from_json(const nlohmann::json& j);
};

}  // namespace wb::serve
