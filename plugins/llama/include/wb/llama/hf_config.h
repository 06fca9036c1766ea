// HF config.json (LlamaForCausalLM) <-> LlamaConfig.
//
// Reading: required fields hidden_size, intermediate_size, num_hidden_layers,
// num_attention_heads, vocab_size (positive integers). Optional, with HF's defaults:
// num_key_value_heads (= num_attention_heads), max_position_embeddings (2048), rms_norm_eps
// (1e-6), rope_theta (10000), tie_word_embeddings (false), bos_token_id (1), eos_token_id (2; a
// list takes its first entry), pad_token_id (null -> -1), torch_dtype ("float32").
// Fields that would change the architecture are checked when present: model_type must be
// "llama", hidden_act "silu", architectures must contain "LlamaForCausalLM", rope_scaling null,
// attention_bias / mlp_bias false. Other keys (transformers_version, use_cache, ...) are ignored.
// A wrong type, a missing required field or an unsupported value throws HfConfigError naming the
// field; the result is validate()d.
//
// Writing emits the fields above plus "architectures":["LlamaForCausalLM"], "model_type":"llama",
// "hidden_act":"silu", "attention_bias":false, "rope_scaling":null, "initializer_range":0.02,
// "pretraining_tp":1, "use_cache":true, keys sorted, 2-space indent.
#pragma once

#include "wb/engine_error.h"

#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>

#include "wb/llama/config.h"

namespace wb::llama {

// An EngineError of kind invalid_input unless the throw site says otherwise.
class HfConfigError : public EngineError {
 public:
  explicit HfConfigError(const std::string& message, ErrorKind kind = ErrorKind::invalid_input) : EngineError(kind, message) {}
};

// Parses config.json text.
LlamaConfig parse_hf_config(std::string_view json_text);
// Serializes; throws std::invalid_argument (from LlamaConfig::validate) for an invalid config.
std::string hf_config_to_json(const LlamaConfig& config);

// Loads `path`, which is a config.json file or a model directory holding one. Errors name the path.
LlamaConfig load_hf_config(const std::filesystem::path& path);
// Writes `path` (a file path, e.g. dir/config.json) atomically; nothing is written when the
// config is invalid (std::invalid_argument) — an existing file stays as it was.
void save_hf_config(const LlamaConfig& config, const std::filesystem::path& path);

}  // namespace wb::llama
