// Loading and saving a base model as an HF directory (config.json + model.safetensors or a
// sharded model.safetensors.index.json), through the formats layer (hf_config.h,
// safetensors.h). Tensors stored as F32/F16/BF16 are converted to T at load; save stores them as
// `store_as`. Optional scalar-head file: "score.safetensors" (score.weight [D], score.bias [1]).
#pragma once

#include <filesystem>

#include "wb/llama/dtype.h"
#include "wb/llama/model.h"

namespace wb::llama {

// Reads config.json and every weight the config needs (lm_head.weight only when untied); a
// missing tensor or a shape that does not fit throws (the message names the tensor and the
// file). Extra tensors (e.g. rotary inv_freq buffers) are ignored.
template <typename T>
Model<T> load_model(const std::filesystem::path& dir);

// Writes dir/config.json and dir/model.safetensors (dir is created if missing). The config's
// torch_dtype is set to match store_as. The model's LoRA adapter and head are not written
// (save_peft_adapter / save_head).
template <typename T>
void save_model(const std::filesystem::path& dir, const Model<T>& m, DType store_as = DType::F32);

// Scalar head as its own small safetensors file.
template <typename T>
void save_head(const std::filesystem::path& file, const ScalarHead<T>& head);
template <typename T>
ScalarHead<T> load_head(const std::filesystem::path& file, int64_t hidden);

}  // namespace wb::llama
