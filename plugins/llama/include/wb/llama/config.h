// LlamaConfig: the architecture numbers of a Llama-2-style model, as HF's LlamaForCausalLM
// config.json names them. Parsing/writing config.json lives in hf_config.h; presets in presets.h.
#pragma once

#include <cstdint>
#include <string>

namespace wb::llama {

struct LlamaConfig {
  int64_t hidden_size = 0;              // dim
  int64_t intermediate_size = 0;        // SwiGLU hidden
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;      // == num_attention_heads unless grouped-query attention
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;  // context length (4096 for Llama 2)
  double rms_norm_eps = 1e-5;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  int64_t bos_token_id = 1;
  int64_t eos_token_id = 2;
  int64_t pad_token_id = -1;            // -1: none
  std::string torch_dtype = "float32";  // dtype the weights are stored in: float32|float16|bfloat16

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  int64_t kv_dim() const { return head_dim() * num_key_value_heads; }
  // Throws std::invalid_argument naming the field when the numbers cannot form a model.
  void validate() const;
  // Parameter count of the base model (embeddings, layers, final norm, LM head unless tied).
  int64_t parameter_count() const;
};

}  // namespace wb::llama
