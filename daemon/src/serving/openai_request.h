// openai_request.h — validates an OpenAI-shaped body of POST /v1/completions or
// /v1/chat/completions and turns it into the serving plugin's request (wb_serving.submit).
//
//   OpenAiRequest r = parse_openai_request(body, Endpoint::Chat);   // 400 naming the field
//   r.plugin["adapter"] = ...;  // the caller resolves r.model to the base or an adapter
//
// Accepted: the fields OpenAI documents that this server honours (model, prompt | messages,
// max_tokens / max_completion_tokens, temperature, top_p, seed, stop, stream, stream_options),
// the extensions top_k, adapter_scale and ignore_eos (vLLM's name: generate max_tokens even past
// an end-of-sequence token), and OpenAI fields that clients send by default when
// they are harmless (n = 1, user, presence/frequency_penalty = 0, logprobs false/null, echo false,
// best_of 1, logit_bias empty, response_format {"type":"text"}, suffix null, metadata, store).
// Anything else — unknown names, n > 1, a non-zero penalty, tools — is a 400 naming the field.
// Chat messages must be an optional system message, then user/assistant turns alternating from
// user and ending with user (what the Llama 2 chat template renders).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace wb::daemon {

enum class Endpoint { Completions, Chat };

struct OpenAiRequest {
  Endpoint endpoint = Endpoint::Completions;
  std::string model;       // base model name or adapter name (resolved by the handler)
  bool stream = false;
  nlohmann::json plugin;   // {"prompt"|"messages","max_tokens","temperature",...} for submit()
};

// Throws ApiError 400 (invalid_json / invalid_request) naming what is wrong.
OpenAiRequest parse_openai_request(const std::string& body, Endpoint endpoint);

// "completions" or "chat" (metric label).
const char* endpoint_name(Endpoint e);

}  // namespace wb::daemon
