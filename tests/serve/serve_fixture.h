// Shared helpers of the serve tests: a tiny random Llama model and "trained-looking" LoRA
// adapters written to disk with the engine's own writers (Setup: a temp dir with the model), a
// wait for the adapter registry's bytes, and an event collector that waits for a request's done
// event.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapter_registry.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/config.h"
#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/llama/model_io.h"
#include "wb/llama/weights.h"
#include "wb_temp_dir.h"

namespace servetest {

namespace fs = std::filesystem;
using nlohmann::json;
using wbtest::TempDir;

// 2 layers, GQA; dims chosen so OpenBLAS takes its small-matrix paths at small batch sizes
// (where a row's rounding depends on the batch unless the engine tiles rows).
inline wb::llama::LlamaConfig tiny_config(int64_t vocab = 256) {
  wb::llama::LlamaConfig c;
  c.hidden_size = 64;
  c.intermediate_size = 172;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = vocab;
  c.max_position_embeddings = 256;
  c.rope_theta = 10000.0;
  return c;
}

// A random model with weights large enough that greedy decoding is not a coin toss.
inline wb::llama::Model<float> random_model(const wb::llama::LlamaConfig& c, uint64_t seed) {
  wb::llama::Model<float> m;
  m.config = c;
  m.weights = wb::llama::Weights<float>::random(c, seed, 0.15);
  for (auto& l : m.weights.layers) {  // RMSNorm gains of 1, as a trained model has about
    std::fill(l.input_layernorm.data.begin(), l.input_layernorm.data.end(), 1.0f);
    std::fill(l.post_attention_layernorm.data.begin(), l.post_attention_layernorm.data.end(), 1.0f);
  }
  std::fill(m.weights.norm.data.begin(), m.weights.norm.data.end(), 1.0f);
  return m;
}

inline fs::path write_model(const fs::path& dir, const wb::llama::LlamaConfig& c, uint64_t seed) {
  wb::llama::save_model(dir, random_model(c, seed));
  return dir;
}

// PEFT init for A, random non-zero B (what a trained adapter looks like).
inline wb::llama::LoraAdapter<float> random_adapter(const wb::llama::LlamaConfig& c, uint64_t seed, int64_t rank = 4,
                                                    double b_std = 0.2) {
  wb::llama::LoraConfig lc;
  lc.r = rank;
  lc.lora_alpha = 2.0 * static_cast<double>(rank);
  lc.target_modules = {wb::llama::LoraModule::Q, wb::llama::LoraModule::V, wb::llama::LoraModule::O,
                       wb::llama::LoraModule::Down};
  auto a = wb::llama::LoraAdapter<float>::init(c, lc, seed);
  uint64_t k = 0;
  a.for_each([&](const std::string& name, wb::llama::Tensor<float>& t) {
    if (name.find("lora_B") != std::string::npos)
      wb::llama::fill_normal(t.data, wb::llama::tensor_seed(seed + 7, name) + k++, b_std);
  });
  return a;
}

inline fs::path write_adapter(const fs::path& dir, const wb::llama::LlamaConfig& c, uint64_t seed, int64_t rank = 4) {
  wb::llama::save_adapter(dir, random_adapter(c, seed, rank), "tiny");
  return dir;
}

// A temp dir (/tmp/<tag>-XXXXXX) with a tiny_config() model written to model/ (seed 11).
struct Setup {
  explicit Setup(std::string_view tag) : dir(tag) {}
  TempDir dir;
  wb::llama::LlamaConfig config = tiny_config();
  fs::path model_dir = write_model(dir / "model", config, 11);
};

// Polls every 10 ms until the registry's bytes() is `want` (an unloaded adapter is freed by the
// decode thread after its last request ends); false if it is not within `timeout`.
inline bool wait_bytes(const wb::serve::AdapterRegistry& reg, int64_t want,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (reg.bytes() != want) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// A prompt of n token ids (BOS first) inside a 256-token vocabulary, different per start.
inline std::vector<int32_t> prompt(int n, int32_t start) {
  std::vector<int32_t> p{1};
  for (int i = 1; i < n; ++i) p.push_back(static_cast<int32_t>((start + 7 * i) % 250 + 3));
  return p;
}

// Collects one request's events; wait() blocks until its done event (or a timeout).
class Collector {
 public:
  bool on_event(const std::string& text) {
    std::lock_guard l(mu_);
    json e = json::parse(text);
    if (e["type"] == "token") {
      if (e["token_id"].get<int64_t>() >= 0) {
        tokens.push_back(e["token_id"].get<int32_t>());
        logprobs.push_back(e["logprob"].get<double>());
      }
      text_ += e["text"].get<std::string>();
    } else {
      done = e;
      cv_.notify_all();
    }
    ++events;
    return keep_going;
  }
  json wait(std::chrono::seconds limit = std::chrono::seconds(60)) {
    std::unique_lock l(mu_);
    cv_.wait_for(l, limit, [&] { return !done.is_null(); });
    return done;
  }
  std::string text() {
    std::lock_guard l(mu_);
    return text_;
  }

  std::vector<int32_t> tokens;
  std::vector<double> logprobs;  // of each token, from the full-precision logits
  json done;  // null until the done event
  int events = 0;
  bool keep_going = true;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::string text_;
};

// A gate the decode thread can be held at (inside an event callback) while the test acts.
class Gate {
 public:
  void wait_open() {
    std::unique_lock l(mu_);
    arrived_ = true;
    cv_.notify_all();
    cv_.wait(l, [&] { return open_; });
  }
  void wait_arrived() {
    std::unique_lock l(mu_);
    cv_.wait_for(l, std::chrono::seconds(30), [&] { return arrived_; });
  }
  void open() {
    std::lock_guard l(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool arrived_ = false, open_ = false;
};

}  // namespace servetest
