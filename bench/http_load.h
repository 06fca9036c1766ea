// http_load.h — serve_bench's HTTP client: C concurrent OpenAI /v1/completions requests against
// any server (workbenchd's TCP listener, llama.cpp's llama-server), so both are measured by the
// same client. Plain HTTP/1.1 over TCP, one connection per request ("Connection: close"),
// non-streaming; tokens come from each answer's usage.completion_tokens.
#pragma once

#include <cstdint>
#include <string>

namespace wb::bench {

struct HttpTarget {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string token;  // "Authorization: Bearer <token>" when not empty
  std::string model;  // the request's "model" field
};

// "http://HOST:PORT" (a trailing "/" or "/v1" is ignored); throws std::invalid_argument otherwise.
HttpTarget parse_url(const std::string& url);

struct HttpRun {
  int64_t tokens = 0;       // completion tokens over all requests
  double wall_s = 0;        // submit of the first to the answer of the last
  double latency_mean_s = 0, latency_max_s = 0;
  double tokens_per_s = 0;
};

// n requests at once, each {"model", "prompt": prompt, "max_tokens": generate, "temperature": 0,
// "ignore_eos": true} on its own thread. Throws std::runtime_error naming the status and body of
// the first failed request.
HttpRun http_completions(const HttpTarget& t, int n, const std::string& prompt, int64_t generate);

}  // namespace wb::bench
