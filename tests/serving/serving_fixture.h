// serving_fixture.h — a real workbenchd with the sft and serve plugins on a temp data dir, a
// tiny model (random weights, a SentencePiece tokenizer trained on a small corpus) imported
// through the model_import job, LoRA adapters written by the test, and HTTP helpers for the
// OpenAI routes (SSE parsing, raw TCP for the listener).
//
//   ServingDaemon d;                       // daemon started, model "tiny" registered
//   d.serve();                             // POST /v1/serving {"model":"tiny"}
//   d.load_adapter("a", d.write_adapter("a-v1", 11));
//   auto r = d.complete({{"model","a"},{"prompt","hello"},{"max_tokens",8},{"temperature",0}});
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fixture.h"

namespace servingtest {

namespace fs = std::filesystem;
using nlohmann::json;
using wbtest::Reply;

// One parsed text/event-stream body: the JSON of every `data:` event before `data: [DONE]`.
struct Sse {
  std::vector<json> events;
  bool done = false;  // saw data: [DONE]
  // The concatenated text of the chunks (completions "text" or chat "delta.content").
  std::string text() const;
  // finish_reason of the last chunk that has one ("" when none).
  std::string finish_reason() const;
};
Sse parse_sse(const std::string& body);

// A request with the given headers, for TCP or raw Unix-socket use.
std::string http_request(const std::string& method, const std::string& target, const std::string& body,
                         const std::vector<std::string>& headers = {});

// Sends `bytes` to host:port (an IPv4 address) with "Connection: close" semantics and reads the
// whole response (status, lower-case headers, de-chunked body).
wbtest::HttpResult tcp_exchange(std::uint16_t port, const std::string& bytes, const std::string& host = "127.0.0.1");
// A TCP port that was free a moment ago (bind to port 0, read it, close).
std::uint16_t free_tcp_port();

// The tiny test model as an HF directory at `src` (config.json, model.safetensors,
// tokenizer.model trained on a small corpus written beside it); `slow`: the wider, deeper one.
void write_tiny_model(const fs::path& src, bool slow = false);
// A trained-looking PEFT adapter for that model at `out` (deterministic by seed); `slow` picks
// the model shape it fits, `base_model` goes into adapter_config.json.
void write_tiny_adapter(const fs::path& out, std::uint64_t seed, int rank = 4, bool slow = false,
                        const std::string& base_model = "tiny");

class ServingDaemon {
 public:
  // `config_toml`: extra config text (e.g. a [tcp] table); written to a file and passed with
  // --config. The model "tiny" is imported before the constructor returns. `slow`: a wider,
  // deeper model with 2048 positions, so a long request runs for seconds (cancellation tests).
  // `model`: the name the model is registered under.
  explicit ServingDaemon(const std::string& config_toml = "", bool slow = false, const std::string& model = "tiny");

  std::string socket() const { return process.socket().string(); }
  const fs::path& dir() const { return tmp.path(); }

  Reply get(const std::string& target);
  Reply post(const std::string& target, const json& body);
  Reply del(const std::string& target);

  // POST /v1/serving {"model":<model>, ...extra}; REQUIREs 200.
  json serve(const json& extra = json::object());
  // A trained-looking PEFT adapter for "tiny" in dir()/adapters/<dirname> (deterministic by seed).
  fs::path write_adapter(const std::string& dirname, std::uint64_t seed, int rank = 4);
  // POST /v1/adapters/{name}/load with {"path"} (when not empty); returns the reply.
  Reply load_adapter(const std::string& name, const fs::path& path = {});
  json stats();

  // POST /v1/completions or /v1/chat/completions on a fresh connection.
  Reply complete(const json& body);
  Reply chat(const json& body);
  // Streaming variants: the raw reply plus its parsed events.
  Sse complete_stream(json body, int* status = nullptr);

  wbtest::TempDir tmp;
  wbtest::DaemonProcess process;

 private:
  bool slow_ = false;
  std::string model_;
};

// Where the test's plugins live (libwb_sft.so + libwb_serve.so).
fs::path serving_plugin_dir();

}  // namespace servingtest
