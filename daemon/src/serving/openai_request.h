// openai_request.h — validates an OpenAI-shaped body of POST /v1/completions or
// /v1/chat/completions and turns it into the serving plugin's request (wb_serving.submit).
//
//   OpenAiRequest r = parse_openai_request(body, Endpoint::Chat);   // 400 naming the field
//   r.plugin["adapter"] = ...;  // the caller resolves r.model to the base or an adapter
//
// Accepted: the fields OpenAI documents that this server honours (model, prompt | messages,
// max_tokens / max_completion_tokens, temperature, top_p, seed, stop, stream,
// stream_options.include_usage, n (1..128; the served model's max_batch caps it further),
// logprobs + top_logprobs (chat: true and 0..20) or logprobs (completions: 0..20)),
// the extensions top_k, adapter_scale, ignore_eos (vLLM's name: generate max_tokens even past
// an end-of-sequence token), batch_invariant (the same tokens alone or batched; the CPU only) and
// keep_alive (Ollama's), and OpenAI fields that clients send by
// default when they are harmless (user, presence/frequency_penalty = 0, echo false, best_of 1,
// logit_bias empty, response_format {"type":"text"}, suffix null, metadata, store).
// Anything else — unknown names, a non-zero penalty, tools — is a 400 naming the field.
// Chat messages must be an optional system message, then user/assistant turns alternating from
// user and ending with user (what the Llama 2 chat template renders).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace wb::daemon {

enum class Endpoint { Completions, Chat };

struct OpenAiRequest {
  Endpoint endpoint = Endpoint::Completions;
  std::string model;       // base model name or adapter name (resolved by the handler)
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with usage, choices []
  int n = 1;                   // choices
  int logprobs = -1;           // -1: none; else top alternatives per token (chat top_logprobs)
  std::optional<double> keep_alive_s;  // keep_alive: seconds the model/adapter stays resident idle (< 0: forever)
  nlohmann::json plugin;   // {"prompt"|"messages","max_tokens","temperature",...} for submit()
};

// Throws ApiError 400 (invalid_json / invalid_request) naming what is wrong.
OpenAiRequest parse_openai_request(const std::string& body, Endpoint endpoint);

// "completions" or "chat" (metric label).
const char* endpoint_name(Endpoint e);

}  // namespace wb::daemon
