#include "gguf_export.h"

#include <stdexcept>

#include "gguf_writer.h"
#include "sp_model.h"
#include "wb/llama/chat_template.h"
#include "wb/llama/hf_config.h"
#include "wb/llama/safetensors.h"

namespace wb::sft {
namespace fs = std::filesystem;

std::vector<float> permute_hf_to_meta(const std::vector<float>& w, int64_t n_heads, int64_t rows, int64_t cols) {
  const int64_t hd = rows / n_heads, half = hd / 2;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t dst = h * hd + 2 * i + j, src = h * hd + j * half + i;
        std::copy(w.begin() + src * cols, w.begin() + (src + 1) * cols, out.begin() + dst * cols);
      }
  return out;
}

void write_gguf_from_hf_dir(const fs::path& dir, const fs::path& out, llama::DType dtype) {
  const llama::LlamaConfig c = llama::load_hf_config(dir);
  const auto set = llama::SafetensorsSet::open(dir);
  const auto pieces = read_sp_pieces(dir / "tokenizer.model");
  if (static_cast<int64_t>(pieces.size()) != c.vocab_size)
    throw std::runtime_error((dir / "tokenizer.model").string() + ": " + std::to_string(pieces.size()) +
                             " pieces, config vocab_size is " + std::to_string(c.vocab_size));
  const GgufType mat = dtype == llama::DType::F16 ? GgufType::F16 : GgufType::F32;

  GgufWriter w;
  w.add_string("general.architecture", "llama");
  w.add_string("general.name", dir.filename().string());
  w.add_u32("general.file_type", mat == GgufType::F16 ? 1 : 0);
  w.add_u32("general.alignment", static_cast<uint32_t>(kGgufAlignment));
  w.add_u32("llama.context_length", static_cast<uint32_t>(c.max_position_embeddings));
  w.add_u32("llama.embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.add_u32("llama.block_count", static_cast<uint32_t>(c.num_hidden_layers));
  w.add_u32("llama.feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w.add_u32("llama.attention.head_count", static_cast<uint32_t>(c.num_attention_heads));
  w.add_u32("llama.attention.head_count_kv", static_cast<uint32_t>(c.num_key_value_heads));
  w.add_u32("llama.rope.dimension_count", static_cast<uint32_t>(c.head_dim()));
  w.add_f32("llama.rope.freq_base", static_cast<float>(c.rope_theta));
  w.add_f32("llama.attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  w.add_u32("llama.vocab_size", static_cast<uint32_t>(c.vocab_size));

  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  for (const auto& p : pieces) {
    tokens.push_back(p.piece);
    scores.push_back(p.score);
    types.push_back(static_cast<int32_t>(p.type));
  }
  w.add_string("tokenizer.ggml.model", "llama");
  w.add_string_array("tokenizer.ggml.tokens", tokens);
  w.add_f32_array("tokenizer.ggml.scores", scores);
  w.add_i32_array("tokenizer.ggml.token_type", types);
  w.add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(c.bos_token_id));
  w.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(c.eos_token_id));
  for (size_t i = 0; i < pieces.size(); ++i)
    if (pieces[i].type == SpPieceType::Unknown) {
      w.add_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(i));
      break;
    }
  if (c.pad_token_id >= 0) w.add_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(c.pad_token_id));
  w.add_bool("tokenizer.ggml.add_bos_token", true);
  w.add_bool("tokenizer.ggml.add_eos_token", false);
  // llama.cpp and Ollama format chats with this template (llama.cpp recognises it as "llama2").
  w.add_string("tokenizer.chat_template", llama::kLlama2ChatTemplateJinja);

  auto tensor = [&](const std::string& hf, const std::string& gg, GgufType type, int64_t permute_heads = 0) {
    const auto& info = set.info(hf);
    std::vector<float> data = set.read_f32(hf);
    if (permute_heads) data = permute_hf_to_meta(data, permute_heads, info.shape[0], info.shape[1]);
    w.add_tensor(gg, info.shape, data, type);
  };
  tensor("model.embed_tokens.weight", "token_embd.weight", mat);
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".", b = "blk." + std::to_string(l) + ".";
    tensor(p + "input_layernorm.weight", b + "attn_norm.weight", GgufType::F32);
    tensor(p + "self_attn.q_proj.weight", b + "attn_q.weight", mat, c.num_attention_heads);
    tensor(p + "self_attn.k_proj.weight", b + "attn_k.weight", mat, c.num_key_value_heads);
    tensor(p + "self_attn.v_proj.weight", b + "attn_v.weight", mat);
    tensor(p + "self_attn.o_proj.weight", b + "attn_output.weight", mat);
    tensor(p + "post_attention_layernorm.weight", b + "ffn_norm.weight", GgufType::F32);
    tensor(p + "mlp.gate_proj.weight", b + "ffn_gate.weight", mat);
    tensor(p + "mlp.up_proj.weight", b + "ffn_up.weight", mat);
    tensor(p + "mlp.down_proj.weight", b + "ffn_down.weight", mat);
  }
  tensor("model.norm.weight", "output_norm.weight", GgufType::F32);
  tensor(c.tie_word_embeddings || !set.contains("lm_head.weight") ? "model.embed_tokens.weight" : "lm_head.weight",
         "output.weight", mat);
  w.write(out);
}

}  // namespace wb::sft
