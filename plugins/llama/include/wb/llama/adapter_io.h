// LoRA adapters on disk in the PEFT layout (adapter_config.json + adapter_model.safetensors,
// keys base_model.model.model.layers.N.<self_attn|mlp>.<m>_proj.lora_<A|B>.weight, A [r, in],
// B [out, r]) — loadable by PEFT, vLLM and llama.cpp's converters. Loading also accepts PEFT's
// adapter-named keys ("...lora_A.default.weight") and F16/BF16 tensors (converted to float).
#pragma once

#include <filesystem>
#include <string>

#include "wb/llama/config.h"
#include "wb/llama/dtype.h"
#include "wb/llama/lora.h"

namespace wb::llama {

// Writes `dir` (created if missing). `base_model` goes to base_model_name_or_path.
// Throws std::invalid_argument when the adapter's shapes are inconsistent; I/O errors name the path.
void save_adapter(const std::filesystem::path& dir, const LoraAdapter<float>& adapter,
                  const std::string& base_model = "", DType store_as = DType::F32);

// Reads `dir` and checks every tensor against the base model's config `c`. Throws
// PeftConfigError / SafetensorsError / std::invalid_argument naming the file and key that is wrong
// (a layer past the model's depth, a shape that does not fit, a module missing A or B, ...).
LoraAdapter<float> load_adapter(const std::filesystem::path& dir, const LlamaConfig& c);

}  // namespace wb::llama
