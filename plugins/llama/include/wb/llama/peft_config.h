// PEFT LoRA adapters: adapter_config.json <-> LoraConfig, and the tensor key mapping
//   base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight  <->  {N, Q, A}
// q,k,v,o live under self_attn (q_proj, k_proj, v_proj, o_proj); gate, up, down under mlp
// (gate_proj, up_proj, down_proj). lora_A has shape [r, in_features], lora_B [out_features, r].
// The adapter weights file itself is handled in peft_adapter.h.
#pragma once

#include "wb/engine_error.h"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wb::llama {

// An EngineError of kind invalid_input unless the throw site says otherwise.
class PeftConfigError : public EngineError {
 public:
  explicit PeftConfigError(const std::string& message, ErrorKind kind = ErrorKind::invalid_input) : EngineError(kind, message) {}
};

enum class LoraModule { Q, K, V, O, Gate, Up, Down };
enum class LoraMatrix { A, B };

// All seven modules, in the order above.
const std::vector<LoraModule>& all_lora_modules();
// "q_proj", "k_proj", ..., "down_proj".
std::string_view lora_module_name(LoraModule m);
// "self_attn" for q,k,v,o; "mlp" for gate, up, down.
std::string_view lora_module_parent(LoraModule m);
// Inverse of lora_module_name; also accepts the short forms "q","k","v","o","gate","up","down".
std::optional<LoraModule> lora_module_from_name(std::string_view name);

struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 16.0;
  double lora_dropout = 0.0;
  std::vector<LoraModule> target_modules = {LoraModule::Q, LoraModule::V};
  bool use_rslora = false;
  std::string base_model_name_or_path;
  bool inference_mode = true;

  // alpha / r, or alpha / sqrt(r) with use_rslora.
  double scale() const;
  // Throws PeftConfigError naming the field: r >= 1, alpha > 0, 0 <= dropout < 1, at least one
  // target module, no duplicates.
  void validate() const;
  bool targets(LoraModule m) const;
};

// Parses adapter_config.json. Requires peft_type "LORA" (when present), r, lora_alpha and
// target_modules (a list of module names, or the string "all-linear"). task_type must be
// "CAUSAL_LM" when present, bias "none", fan_in_fan_out false, use_dora false, and
// layers_to_transform / modules_to_save / rank_pattern / alpha_pattern absent, null or empty —
// these change what the adapter means, so they are refused with an error naming the field
// rather than ignored. Other keys PEFT writes (revision, layers_pattern, ...) are ignored.
LoraConfig parse_peft_config(std::string_view json_text);
// The JSON PEFT writes: peft_type "LORA", task_type "CAUSAL_LM", r, lora_alpha, lora_dropout,
// target_modules (sorted names), bias "none", fan_in_fan_out false, base_model_name_or_path,
// inference_mode, use_rslora, modules_to_save null.
std::string peft_config_to_json(const LoraConfig& config);
// `path`: adapter_config.json or the adapter directory holding it.
LoraConfig load_peft_config(const std::filesystem::path& path);
void save_peft_config(const LoraConfig& config, const std::filesystem::path& path);

struct LoraKey {
  int64_t layer = 0;
  LoraModule module = LoraModule::Q;
  LoraMatrix matrix = LoraMatrix::A;
  bool operator==(const LoraKey&) const = default;
};

// "base_model.model.model.layers.{layer}.{parent}.{module}.lora_{A|B}.weight"
std::string lora_tensor_key(const LoraKey& key);
// Parses the key above, also with an adapter name ("...lora_A.default.weight") and without the
// "base_model.model." prefix. nullopt for anything else.
std::optional<LoraKey> parse_lora_tensor_key(std::string_view key);

}  // namespace wb::llama
