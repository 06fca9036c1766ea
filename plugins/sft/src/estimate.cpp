#include "estimate.h"

#include "specs.h"
#include "wb/llama/hf_config.h"
#include "wb/plugin/host.h"
#include "wb/plugin/memory_estimate.h"
#include "wb/plugin/spec.h"

namespace wb::sft {

namespace {

// Parameters of the LoRA matrices (A: r x in, B: out x r) on every layer's target modules.
int64_t lora_parameters(const llama::LlamaConfig& c, const llama::LoraConfig& lora) {
  int64_t per_layer = 0;
  for (llama::LoraModule m : lora.target_modules) {
    int64_t in = c.hidden_size, out = c.hidden_size;
    switch (m) {
      case llama::LoraModule::K:
      case llama::LoraModule::V: out = c.kv_dim(); break;
      case llama::LoraModule::Gate:
      case llama::LoraModule::Up: out = c.intermediate_size; break;
      case llama::LoraModule::Down: in = c.intermediate_size; break;
      default: break;
    }
    per_layer += lora.r * (in + out);
  }
  return per_layer * c.num_hidden_layers;
}

}  // namespace

nlohmann::json estimate_spec(const std::string& kind, const nlohmann::json& spec) {
  if (kind != "pretrain" && kind != "sft") return {{"bytes", 0}};
  TrainSpec s = parse_train_spec(kind, spec);
  auto rec = plugin::Host::lookup("model", s.model);
  if (!rec) plugin::spec_fail("model", "unknown model '" + s.model + "'");
  const llama::LlamaConfig c = llama::parse_hf_config(rec->value("config", nlohmann::json::object()).dump());
  const int64_t trainable = s.method == "lora" ? lora_parameters(c, s.lora) : c.parameter_count();
  return plugin::estimate_training(c, s.batch_size, s.context_length, trainable).to_json();
}

}  // namespace wb::sft
