// POST /v1/completions and /v1/chat/completions (OpenAI shape; PROTOCOL.md "Serving").
//
// "model" picks the resident base model or a loaded adapter (or, with [serving] load_on_request,
// a registered one, loaded first: serving/residency.h). The request goes to the serving
// plugin at once, so its errors keep their status (404 unknown adapter, 429 queue full with
// Retry-After, 503 no model); the answer then streams (SSE) or arrives as one JSON body.
#include "handlers/handlers.h"
#include "http/api_error.h"
#include "http/server.h"
#include "serving/completion_stream.h"
#include "serving/openai_request.h"

namespace wb::daemon::handlers {

using nlohmann::json;

namespace {

// Seconds a client should wait after a 429 before retrying (Retry-After).
constexpr const char* kRetryAfterSeconds = "1";

Response completion(App& app, Request& req, Endpoint endpoint) {
  OpenAiRequest r = parse_openai_request(req.body, endpoint);
  const wb_serving& table = app.serving.table();
  r.plugin["model"] = r.model;  // the plugin resolves it to the base model or a loaded adapter
  std::shared_ptr<CompletionStream> s;
  try {
    // Loads what the request names when the config allows it; held until the request is queued.
    auto hold = app.residency.prepare(r.model, r.keep_alive_s);
    s = CompletionStream::submit(table, r, app.serving.metrics());
  } catch (const ApiError& e) {
    if (e.status() == 404 && !Serving::model_name(app.serving.stats()))
      throw unavailable("no model is being served; start one with `wb serve start --model NAME`");
    if (e.status() != 429) throw;
    Response busy = error_response(429, e.code(), e.what());
    busy.headers.emplace_back("Retry-After", kRetryAfterSeconds);
    return busy;
  }
  Response res;
  res.content_type = s->content_type();
  if (r.stream) res.headers.emplace_back("Cache-Control", "no-cache");
  res.stream = s;
  return res;
}

}  // namespace

Response completions(App& app, Request& req) { return completion(app, req, Endpoint::Completions); }
Response chat_completions(App& app, Request& req) { return completion(app, req, Endpoint::Chat); }

}  // namespace wb::daemon::handlers
