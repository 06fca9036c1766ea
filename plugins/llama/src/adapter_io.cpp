#include "wb/llama/adapter_io.h"

#include <stdexcept>

#include "wb/llama/peft_adapter.h"

namespace wb::llama {

void save_adapter(const std::filesystem::path& dir, const LoraAdapter<float>& adapter,
                  const std::string& base_model, DType store_as) {
  PeftAdapter p = adapter.to_peft();
  p.config.base_model_name_or_path = base_model;
  p.config.inference_mode = true;
  save_peft_adapter(dir, p, store_as);
}

LoraAdapter<float> load_adapter(const std::filesystem::path& dir, const LlamaConfig& c) {
  const PeftAdapter p = load_peft_adapter(dir);
  try {
    return LoraAdapter<float>::from_peft(p, c);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("adapter " + dir.string() + " does not fit the model: " + e.what());
  }
}

}  // namespace wb::llama
