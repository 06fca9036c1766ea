// completion.h — what wb generate and wb chat share: sampling flags and one streamed request to
// the daemon's OpenAI routes (POST /v1/completions or /v1/chat/completions, "stream": true).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "wb/cli/daemon_client.h"

namespace wb::cli {

// --max-tokens --temperature --top-p --top-k --seed --stop (repeatable) --adapter-scale.
struct SamplingFlags {
  std::int64_t max_tokens = 256;
  std::optional<double> temperature, top_p, adapter_scale;
  std::optional<std::int64_t> top_k, seed;
  std::vector<std::string> stop;

  void add_to(CLI::App* cmd);
  // Adds the given flags to an OpenAI request body.
  void apply(nlohmann::json& body) const;
};

struct CompletionResult {
  std::string text;
  std::string finish_reason;
  nlohmann::json usage;  // {"prompt_tokens","completion_tokens","total_tokens"} or null
};

// Streams one completion: `on_text` gets each piece of text as it arrives. Throws DaemonError
// for an error status, and Error for an error event in the stream or a stream cut short.
CompletionResult stream_completion(const DaemonClient& client, const std::string& target, nlohmann::json body,
                                   const std::function<void(const std::string&)>& on_text);

// The model a request should name: `adapter` when given, else the served base model (from
// GET /v1/serving; Error when no model is being served).
std::string served_model(const DaemonClient& client, const std::string& adapter);

}  // namespace wb::cli
