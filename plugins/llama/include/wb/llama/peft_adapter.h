// A whole PEFT LoRA adapter directory: adapter_config.json + adapter_model.safetensors.
//
//   PeftAdapter a = load_peft_adapter("adapters/my-lora");
//   for (auto& t : a.tensors) ... t.key.layer, t.key.module, t.key.matrix, t.shape, t.data
//   save_peft_adapter("out/my-lora", a);
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include "wb/llama/dtype.h"
#include "wb/llama/peft_config.h"

namespace wb::llama {

struct LoraTensor {
  LoraKey key;
  std::vector<int64_t> shape;  // A: [r, in_features]; B: [out_features, r]
  std::vector<float> data;     // row-major
};

struct PeftAdapter {
  LoraConfig config;
  std::vector<LoraTensor> tensors;  // sorted by (layer, module, matrix)

  // nullptr when absent.
  const LoraTensor* find(const LoraKey& key) const;
};

// Reads `dir`/adapter_config.json and `dir`/adapter_model.safetensors. Every tensor key must
// parse as a LoRA key of a targeted module, every (layer, module) must have both A and B, A must
// be [r, in] and B [out, r]. Errors (PeftConfigError / SafetensorsError) name the file and key.
PeftAdapter load_peft_adapter(const std::filesystem::path& dir);

// Writes both files into `dir` (created if missing), tensors stored as `store_as`. Checks the
// same invariants as loading before writing anything.
void save_peft_adapter(const std::filesystem::path& dir, const PeftAdapter& adapter,
                       DType store_as = DType::F32);

}  // namespace wb::llama
