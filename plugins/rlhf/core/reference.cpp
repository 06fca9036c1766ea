#include "wb/rlhf/reference.h"

#include "wb/llama/adapter_io.h"
#include "wb/llama/merge.h"
#include "wb/llama/model_io.h"

namespace wb::rlhf {

std::optional<ReferenceMode> parse_reference_mode(const std::string& text) {
  if (text == "merged") return ReferenceMode::kMerged;
  if (text == "adapter") return ReferenceMode::kAdapter;
  return std::nullopt;
}

const char* reference_mode_name(ReferenceMode mode) { return mode == ReferenceMode::kMerged ? "merged" : "adapter"; }

std::vector<const llama::LoraAdapter<float>*> PolicyAndReference::reference_adapters(int64_t n_seqs) const {
  return std::vector<const llama::LoraAdapter<float>*>(static_cast<size_t>(n_seqs),
                                                       reference ? &*reference : nullptr);
}

void write_derived_base(const std::filesystem::path& base_dir, const std::filesystem::path& sft_adapter_dir,
                        const std::filesystem::path& out_dir) {
  // f32 whatever the base's dtype: the derived base must compute what base + adapter computes.
  llama::merge_adapter_to_directory(base_dir, sft_adapter_dir, out_dir, llama::DType::F32);
}

PolicyAndReference merged_reference(const std::filesystem::path& derived_dir, llama::LoraConfig policy_lora,
                                    uint64_t seed) {
  PolicyAndReference pr;
  pr.mode = ReferenceMode::kMerged;
  pr.model = llama::load_model<float>(derived_dir);
  policy_lora.lora_dropout = 0;  // no dropout: policy and reference log-probs are the same function
  pr.model.lora = llama::LoraAdapter<float>::init(pr.model.config, policy_lora, seed);
  pr.model.trainable = {.lora = true};
  pr.model.validate();
  return pr;
}

PolicyAndReference adapter_reference(const std::filesystem::path& base_dir,
                                     const std::filesystem::path& sft_adapter_dir) {
  PolicyAndReference pr;
  pr.mode = ReferenceMode::kAdapter;
  pr.model = llama::load_model<float>(base_dir);
  pr.reference = llama::load_adapter(sft_adapter_dir, pr.model.config);
  pr.reference->config.lora_dropout = 0;
  pr.model.lora = *pr.reference;  // the policy starts as an exact copy
  pr.model.trainable = {.lora = true};
  pr.model.validate();
  return pr;
}

}  // namespace wb::rlhf
