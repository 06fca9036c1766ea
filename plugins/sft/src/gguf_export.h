// gguf_export.h — an HF Llama directory (config.json + safetensors + tokenizer.model) as one
// GGUF v3 file llama.cpp loads (general.architecture = llama).
//
// Metadata: general.architecture, general.name, general.file_type, general.alignment;
// llama.context_length, embedding_length, block_count, feed_forward_length,
// attention.head_count, attention.head_count_kv, rope.freq_base, rope.dimension_count,
// attention.layer_norm_rms_epsilon, vocab_size; tokenizer.ggml.model = "llama" with tokens, scores,
// token_type (SentencePiece piece types) and bos/eos/unknown/padding ids.
// Tensors (HF -> GGUF names): token_embd, blk.N.attn_norm / attn_q / attn_k / attn_v /
// attn_output / ffn_norm / ffn_gate / ffn_up / ffn_down, output_norm, output (the embedding
// matrix again when the model ties them). Norms are always F32; matrices `dtype` (F32 or F16).
// q_proj and k_proj rows are permuted from HF's rotate-half layout to Meta's interleaved one
// (permute_hf_to_meta), as llama.cpp's converter does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "wb/llama/dtype.h"

namespace wb::sft {

// Rows of a [n_heads * head_dim, cols] matrix: meta[h*hd + 2i + j] = hf[h*hd + j*hd/2 + i].
std::vector<float> permute_hf_to_meta(const std::vector<float>& w, int64_t n_heads, int64_t rows, int64_t cols);

// Writes `out` (a .gguf file). Throws naming the file / tensor at fault.
void write_gguf_from_hf_dir(const std::filesystem::path& model_dir, const std::filesystem::path& out,
                            llama::DType dtype);

}  // namespace wb::sft
