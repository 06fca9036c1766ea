// Merging a LoRA adapter into its base model: W' = W + scale * B A for every targeted linear of
// every layer (scale = lora_alpha / r, or / sqrt(r) with rsLoRA). The merged model computes what
// base + adapter computes, without the low-rank side path; it is written as a new HF model
// directory (config.json + model.safetensors, + tokenizer.model copied when the base has one).
#pragma once

#include <filesystem>

#include "wb/llama/dtype.h"
#include "wb/llama/model.h"

namespace wb::llama {

// Adds scale * B A into the targeted weights of `w` (in place). Computed in double per element
// sum, then rounded once to T. Throws std::invalid_argument when the adapter does not fit `c`.
template <typename T>
void merge_lora_into(Weights<T>& w, const LlamaConfig& c, const LoraAdapter<T>& adapter);

// Loads the HF model at model_dir and the PEFT adapter at adapter_dir, merges, and writes out_dir
// (which must not exist yet, so nothing is overwritten; written to a temp sibling then renamed).
// The sum is formed in fp32 (the base's stored values widened exactly) and rounded once, to
// store_as: F32 by default, whatever the base's torch_dtype, so the merged model computes what the
// engine serves as base + adapter (a bf16 merged copy differs by ~1e-2 relative in logits). Pass
// the base's own dtype only where a compact copy matters more than equality.
// Errors name the directory and file at fault; out_dir is not created then.
void merge_adapter_to_directory(const std::filesystem::path& model_dir,
                                const std::filesystem::path& adapter_dir,
                                const std::filesystem::path& out_dir,
                                DType store_as = DType::F32);

}  // namespace wb::llama
