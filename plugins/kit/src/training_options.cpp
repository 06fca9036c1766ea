#include "wb/plugin/training_options.h"

#include <exception>

#include "wb/plugin/spec.h"

namespace wb::plugin {

llama::LoraConfig lora_from_spec(std::optional<int64_t> rank, std::optional<double> alpha,
                                 std::optional<double> dropout,
                                 const std::optional<std::vector<std::string>>& target_modules) {
  llama::LoraConfig lora;
  lora.r = rank.value_or(8);
  lora.lora_alpha = alpha.value_or(2.0 * static_cast<double>(lora.r));
  lora.lora_dropout = dropout.value_or(0.0);
  lora.target_modules = llama::all_lora_modules();
  if (target_modules) {
    lora.target_modules.clear();
    for (const auto& t : *target_modules) {
      if (t == "all-linear" || t == "all") {
        lora.target_modules = llama::all_lora_modules();
        break;
      }
      auto m = llama::lora_module_from_name(t);
      if (!m)
        spec_fail("target_modules", "unknown module '" + t +
                                        "' (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj or all-linear)");
      for (auto existing : lora.target_modules)
        if (existing == *m) spec_fail("target_modules", "'" + t + "' listed twice");
      lora.target_modules.push_back(*m);
    }
  }
  try {
    lora.validate();
  } catch (const std::exception& e) {
    spec_fail("rank", e.what());
  }
  return lora;
}

}  // namespace wb::plugin
