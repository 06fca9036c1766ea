// LlamaConfig::validate / parameter_count and the named presets.
#include <stdexcept>
#include <string>

#include "wb/llama/config.h"
#include "wb/llama/dtype.h"
#include "wb/llama/presets.h"

namespace wb::llama {

namespace {

void require_positive(const char* field, int64_t v) {
  if (v <= 0) {
    throw std::invalid_argument(std::string("config: ") + field + " must be positive, got " +
                                std::to_string(v));
  }
}

}  // namespace

void LlamaConfig::validate() const {
  require_positive("hidden_size", hidden_size);
  require_positive("intermediate_size", intermediate_size);
  require_positive("num_hidden_layers", num_hidden_layers);
  require_positive("num_attention_heads", num_attention_heads);
  require_positive("num_key_value_heads", num_key_value_heads);
  require_positive("vocab_size", vocab_size);
  require_positive("max_position_embeddings", max_position_embeddings);
  if (hidden_size % num_attention_heads != 0) {
    throw std::invalid_argument("config: hidden_size (" + std::to_string(hidden_size) +
                                ") is not divisible by num_attention_heads (" +
                                std::to_string(num_attention_heads) + ")");
  }
  if (head_dim() % 2 != 0) {
    throw std::invalid_argument("config: head dim hidden_size/num_attention_heads = " +
                                std::to_string(head_dim()) + " must be even for rotary embeddings");
  }
  if (num_attention_heads % num_key_value_heads != 0) {
    throw std::invalid_argument("config: num_attention_heads (" +
                                std::to_string(num_attention_heads) +
                                ") is not a multiple of num_key_value_heads (" +
                                std::to_string(num_key_value_heads) + ")");
  }
  if (!(rms_norm_eps > 0.0)) throw std::invalid_argument("config: rms_norm_eps must be positive");
  if (!(rope_theta > 0.0)) throw std::invalid_argument("config: rope_theta must be positive");
  auto check_id = [&](const char* field, int64_t id, bool optional) {
    if ((optional && id == -1)) return;
    if (id < 0 || id >= vocab_size) {
      throw std::invalid_argument(std::string("config: ") + field + " " + std::to_string(id) +
                                  " is outside the vocabulary [0, " + std::to_string(vocab_size) +
                                  ")");
    }
  };
  check_id("bos_token_id", bos_token_id, false);
  check_id("eos_token_id", eos_token_id, false);
  check_id("pad_token_id", pad_token_id, true);
  if (!dtype_from_torch_name(torch_dtype)) {
    throw std::invalid_argument("config: torch_dtype '" + torch_dtype +
                                "' is not one of float32, float16, bfloat16");
  }
}

int64_t LlamaConfig::parameter_count() const {
  const int64_t d = hidden_size;
  const int64_t attn = d * d            // q_proj
                       + 2 * d * kv_dim()  // k_proj, v_proj
                       + d * d;         // o_proj
  const int64_t mlp = 3 * d * intermediate_size;  // gate, up, down
  const int64_t norms = 2 * d;                    // input_layernorm, post_attention_layernorm
  const int64_t embed = vocab_size * d;
  return embed + num_hidden_layers * (attn + mlp + norms) + d /* final norm */ +
         (tie_word_embeddings ? 0 : embed);
}

namespace {

LlamaConfig make(int64_t dim, int64_t layers, int64_t heads, int64_t hidden, int64_t vocab,
                 int64_t ctx, bool tied) {
  LlamaConfig c;
  c.hidden_size = dim;
  c.num_hidden_layers = layers;
  c.num_attention_heads = heads;
  c.num_key_value_heads = heads;
  c.intermediate_size = hidden;
  c.vocab_size = vocab;
  c.max_position_embeddings = ctx;
  c.tie_word_embeddings = tied;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.bos_token_id = 1;
  c.eos_token_id = 2;
  c.pad_token_id = -1;
  c.torch_dtype = "float32";
  return c;
}

}  // namespace

LlamaConfig preset_config(std::string_view name) {
  if (name == "tiny") return make(128, 4, 4, 352, 1024, 256, true);
  if (name == "15m") return make(288, 6, 6, 768, 32000, 256, true);
  if (name == "110m") return make(768, 12, 12, 2048, 32000, 1024, false);
  if (name == "7b") return make(4096, 32, 32, 11008, 32000, 4096, false);
  throw std::invalid_argument("unknown model preset '" + std::string(name) +
                              "' (known: tiny, 15m, 110m, 7b)");
}

std::vector<std::string> preset_names() { return {"tiny", "15m", "110m", "7b"}; }

}  // namespace wb::llama
