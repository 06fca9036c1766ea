// Engine: one resident base model served with continuous batching on one decode thread.
//
//   Engine e(ModelOptions::from_json(load_model_json));     // loads the model, starts the thread
//   e.registry().load("support", "/adapters/support", 1.0);
//   uint64_t id = e.submit(request_json, [](const std::string& ev) { ...; return true; });
//   e.cancel(id);
//   nlohmann::json s = e.stats();
//
// The passes run on the engine's DecodeBackend (wb/llama/decode_backend.h): the CPU (llama::Decoder) or, with
// device "cuda" / "auto" where a GPU answers, the GPU (gpu::GpuDecoder; serve_device.h decides).
// Everything else below — queueing, admission, batching, chunking, cancellation, metrics — is
// this one loop for both.
//
// Requests are resolved at submit (adapter looked up, prompt tokenized or chat-rendered, limits
// checked; errors throw plugin::PluginError) and wait in a bounded FIFO queue (max_queue; beyond it
// WB_BUSY). The decode thread admits them in arrival order up to max_batch running sequences.
// A request with n > 1 takes n batch slots: its prompt is prefilled once, then the sequence is
// forked (DecodeBackend::fork copies the KV cache) into n choices that decode side by side.
// Each step runs ONE batched forward over every generating sequence (one new token each), then
// the prompt chunks of sequences still prefilling (prefill_chunk tokens each, at most
// prefill_budget tokens per step, arrival order), each chunk a forward of its own. Each sequence
// has its own KV cache, RNG (seeded from the request) and adapter (+ scale); the base GEMM runs
// once for all rows and each adapter adds its low-rank product on its rows. On the CPU the decode
// pass runs every product through the engine's fixed-order row kernel (batch_invariant: the
// model's option, or a request's own field making each pass it is in invariant), and
// chunks are cut at fixed prompt offsets, so a seeded request's tokens are bit-identical whatever
// else runs. On the GPU batch_invariant is off (cuBLAS picks kernels by shape), and a step's decode
// rows and prompt chunks go in one pass (llama::DecodeBackend::one_pass).
//
// Destruction stops the thread and ends every queued and running request with a done event
// ("cancelled", error "the model was unloaded") before returning; no callback follows.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "active_request.h"
#include "adapter_registry.h"
#include "wb/llama/decode_backend.h"
#include "model_options.h"
#include "serve_device.h"
#include "serve_metrics.h"
#include "wb/llama/model.h"
#include "wb/llama/tokenizer.h"

namespace wb::serve {

class Engine {
 public:
  // Picks the device (serve_device.h), loads options.path (config.json + weights;
  // tokenizer.model when present) and, on the GPU, converts the weights to the device. Throws
  // plugin::PluginError (WB_NOT_FOUND for a missing directory, WB_INVALID for a bad model or option or a
  // device that cannot serve, WB_ERROR when device "cuda" cannot hold the model).
  explicit Engine(ModelOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates and queues a request (RequestSpec JSON); returns its id. on_event receives the
  // token events and one done event on the decode thread. Throws plugin::PluginError: WB_INVALID (bad
  // field, prompt too long for the context, text without a tokenizer), WB_NOT_FOUND (unknown
  // model / adapter name), WB_BUSY (queue full).
  uint64_t submit(const nlohmann::json& request, EventFn on_event);
  // Asks a queued or running request to stop (its done event says "cancelled"). False if the id
  // is unknown or already finished.
  bool cancel(uint64_t id);

  AdapterRegistry& registry() { return registry_; }
  const llama::Model<float>& model() const { return model_; }
  const llama::Tokenizer* tokenizer() const { return tokenizer_ ? &*tokenizer_ : nullptr; }
  const ModelOptions& options() const { return opts_; }
  // "cpu" or "cuda": where the passes run.
  std::string device() const { return backend_->device(); }
  int64_t context() const { return context_; }
  // {"model","path","device" (used),"device_requested","device_name",...options,"adapters":[...],
  //  "adapter_bytes","running","queued","tokens_per_s","metrics":{...}} — docs/SERVING.md "Stats".
  nlohmann::json stats() const;

 private:
  void loop();
  void admit(std::vector<std::unique_ptr<ActiveRequest>>& running);
  void step(std::vector<std::unique_ptr<ActiveRequest>>& running);
  // One forward over `batch` (each sequence's next_feed), then each accepts its logits row.
  // decode: the mixed decode pass (batch_invariant / row_tile apply); else a lone prompt chunk.
  void run_pass(const std::vector<ActiveRequest*>& batch, bool decode);
  // Choice 0 of an n > 1 request just completed its prompt (row: its logits): forks its sequence
  // for choices 1..n-1 into spawned_, each sampling its first token from `row`.
  void fork_choices(ActiveRequest& first, std::span<const float> row, int64_t fed);
  std::vector<int32_t> prompt_tokens(const struct RequestSpec& spec) const;

  ModelOptions opts_;
  DeviceChoice device_;
  llama::Model<float> model_;
  std::optional<llama::Tokenizer> tokenizer_;
  int64_t context_ = 0;
  std::unique_ptr<llama::DecodeBackend> backend_;  // outlives registry_ (destroyed after it)
  AdapterRegistry registry_;
  ServeMetrics metrics_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<PreparedRequest> queue_;
  std::map<uint64_t, std::shared_ptr<std::atomic<bool>>> live_;  // queued + running: cancel flags
  bool stopping_ = false;
  uint64_t next_id_ = 1;
  uint64_t seed_counter_;
  std::atomic<int64_t> running_count_{0};
  std::vector<std::unique_ptr<ActiveRequest>> spawned_;  // forked choices joining at the step's end (decode thread)
  std::thread thread_;
};

}  // namespace wb::serve
