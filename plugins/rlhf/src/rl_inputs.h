// rl_inputs.h — what the ppo and rejection_sampling jobs read besides their spec: the reward
// models (the reward plugin's results: a LoRA adapter registered with kind reward_helpfulness or
// reward_safety, plus its scalar head score.safetensors in the adapter directory) and the prompt
// set (a dataset of kind prompt: "prompt", optional "system", optional "is_safety_prompt").
//
// Both jobs keep one base in memory: the reward models must be trained on the model the job
// loads (their record's base_model), which the submission checks.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wb/llama/lora.h"
#include "wb/llama/model.h"
#include "wb/llama/tokenizer.h"
#include "wb/plugin/host.h"
#include "wb/plugin/model_store.h"
#include "wb/plugin/spec.h"
#include "wb/rlhf/reference.h"
#include "wb/rlhf/rollout.h"

namespace wb::rlhf {

inline constexpr const char* kRewardHeadFile = "score.safetensors";

// The fields ppo and rejection_sampling share, read into `s` (a PpoSpec or RsSpec): model,
// adapter, reference (default adapter when an SFT adapter is given, else merged; merged with an
// adapter is refused: the reward models were trained on `model`), helpfulness, safety, dataset,
// safety_tags, safety_threshold. `adapter_need` says, in the refusal of reference 'adapter'
// without an adapter, what the adapter is for.
template <class Spec>
void read_policy_and_rewards(plugin::SpecReader& r, Spec& s, const std::string& adapter_need) {
  s.model = r.string("model");
  s.adapter = r.string_or("adapter", "");
  s.reference = *parse_reference_mode(
      r.one_of_or("reference", {"merged", "adapter"}, s.adapter.empty() ? "merged" : "adapter"));
  if (s.reference == ReferenceMode::kAdapter && s.adapter.empty())
    plugin::spec_fail("adapter", "reference 'adapter' needs " + adapter_need);
  if (s.reference == ReferenceMode::kMerged && !s.adapter.empty())
    plugin::spec_fail("reference", "'merged' with an SFT adapter would put the reward models (trained on '" + s.model +
                                       "') over the merged weights; use 'adapter', or give the merged SFT model as model");
  s.helpfulness = r.string("helpfulness");
  s.safety = r.string("safety");
  s.dataset = r.string("dataset");
  s.safety_tags = r.boolean_or("safety_tags", true);
  s.safety_threshold = r.number_or("safety_threshold", 0.15, 0.0, 1.0);
}

// The policy and its reference for ppo and rejection_sampling (`s` a PpoSpec or RsSpec): the SFT
// adapter frozen with a trainable copy (reference adapter), or a fresh policy LoRA on `model`
// (merged); one base either way.
template <class Spec>
PolicyAndReference load_policy_and_reference(const plugin::JobHost& job, const Spec& s) {
  const std::filesystem::path model_path = plugin::registered_model_path(s.model, job.handle());
  return s.reference == ReferenceMode::kAdapter
             ? adapter_reference(model_path, plugin::registered_adapter_path(s.adapter, job.handle()))
             : merged_reference(model_path, s.lora, s.seed);
}

// An output name: letters, digits, '-', '_', '.', not starting with '.' or '-', at most 128.
// Throws SpecError naming field.
void check_output_name(const std::string& field, const std::string& name);

// Submission checks of a reward-model field: registered, a reward adapter of the expected head
// ("helpfulness" | "safety") with its head file, trained on `model`. Throws SpecError naming field.
void check_reward_model(const std::string& field, const std::string& name, const std::string& head,
                        const std::string& model);

// Submission checks of the prompt dataset: registered and of kind prompt; with need_tags, at least
// one row carries "is_safety_prompt". Throws SpecError naming field.
void check_prompt_dataset(const std::string& field, const std::string& name, bool need_tags);

struct LoadedRewardModel {
  llama::LoraAdapter<float> adapter;
  llama::ScalarHead<float> head;
  RewardModel view() const { return {&adapter, &head}; }
};
// The registered reward adapter `name` and its head, shaped for `config`. Errors name the file.
LoadedRewardModel load_reward_model(const plugin::JobHost& job, const std::string& name,
                                    const llama::LlamaConfig& config);

struct PromptSet {
  std::vector<Prompt> prompts;  // rendered: BOS [INST] (system) prompt [/INST]
  std::vector<int64_t> rows;    // the dataset row of each
  int64_t skipped = 0;          // too long to leave room for one token and EOS in the context
  int64_t unsafe = 0;           // tagged unsafe (counted only when tags are used)
};
// The train split of a prompt dataset, rendered with the Llama 2 chat template. use_tags: a row's
// "is_safety_prompt": true marks the prompt unsafe for the reward gate.
PromptSet load_prompts(const plugin::JobHost& job, const llama::Tokenizer& tok, const std::string& dataset,
                       bool use_tags, int64_t context);

}  // namespace wb::rlhf
