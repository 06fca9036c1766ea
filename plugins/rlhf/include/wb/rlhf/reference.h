// The reference policy of DPO (and later PPO): the SFT model, never the pretrained base, with one
// base in memory either way.
//
//   merged  (default) the SFT adapter merged into a derived base in f32 (write_derived_base, the
//           engine's merge_adapter_to_directory); the policy is a fresh LoRA on it (B = 0) and the
//           reference is the derived base with the policy off. Without an SFT adapter the model
//           itself plays the derived base.
//   adapter the SFT adapter kept frozen as the reference over the original base; the policy is a
//           trainable copy of it (same rank, alpha and modules; dropout off).
// At step 0 the policy computes exactly what the reference computes in both modes.
//
//   PolicyAndReference pr = merged_reference(derived_dir, lora, seed);   // or adapter_reference(...)
//   forward(pr.model, batch, ws, opts);                                  // the policy
//   forward(pr.model, batch, ws, opts, pr.reference_adapters(batch.n_seqs()));   // the reference
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "wb/llama/model.h"
#include "wb/llama/peft_config.h"

namespace wb::rlhf {

enum class ReferenceMode { kMerged, kAdapter };

// "merged" | "adapter"; nullopt for anything else.
std::optional<ReferenceMode> parse_reference_mode(const std::string& text);
const char* reference_mode_name(ReferenceMode mode);

struct PolicyAndReference {
  ReferenceMode mode = ReferenceMode::kMerged;
  // The one base in memory; model.lora is the policy and the only trainable part.
  llama::Model<float> model;
  // adapter mode: the frozen SFT adapter; merged mode: none (the base alone is the reference).
  std::optional<llama::LoraAdapter<float>> reference;

  // What forward() takes to compute the reference for a batch of n_seqs sequences: n_seqs times
  // nullptr (merged) or n_seqs times the frozen SFT adapter (adapter).
  std::vector<const llama::LoraAdapter<float>*> reference_adapters(int64_t n_seqs) const;
};

// Merges the SFT adapter at sft_adapter_dir into the model at base_dir and writes the derived base
// to out_dir (f32, tokenizer copied; out_dir must not exist). Errors name the directory at fault.
void write_derived_base(const std::filesystem::path& base_dir, const std::filesystem::path& sft_adapter_dir,
                        const std::filesystem::path& out_dir);

// Loads the derived base (or a model without SFT adapter) and puts a fresh policy LoRA on it:
// PEFT init from seed (A random, B = 0), dropout off.
PolicyAndReference merged_reference(const std::filesystem::path& derived_dir, llama::LoraConfig policy_lora,
                                    uint64_t seed);

// Loads the base and the SFT adapter; the reference is the adapter, the policy a copy of it.
PolicyAndReference adapter_reference(const std::filesystem::path& base_dir,
                                     const std::filesystem::path& sft_adapter_dir);

}  // namespace wb::rlhf
