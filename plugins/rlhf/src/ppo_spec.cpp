#include "ppo_spec.h"

#include "rl_inputs.h"
#include "wb/plugin/adapter_base.h"
#include "wb/plugin/device.h"
#include "wb/plugin/host.h"
#include "wb/plugin/spec.h"
#include "wb/plugin/training_options.h"

namespace wb::rlhf {
using nlohmann::json;
using plugin::Host;
using plugin::spec_fail;

const std::vector<SpecField> kPpoFields = {
    {"model", "string", "", "the base model the SFT adapter and both reward models were trained on"},
    {"adapter", "string", "none", "the SFT adapter, the reference policy (none: the model itself)"},
    {"reference", "string", "adapter with an SFT adapter, else merged", "adapter: SFT adapter frozen, policy a copy of it | merged: the model itself is the reference, fresh policy LoRA"},
    {"helpfulness", "string", "", "helpfulness reward model (a reward_helpfulness adapter of model)"},
    {"safety", "string", "", "safety reward model (a reward_safety adapter of model)"},
    {"dataset", "string", "", "prompt dataset; its train split is sampled"},
    {"safety_tags", "boolean", "true", "the rows' is_safety_prompt tags mark unsafe prompts for the reward gate (the dataset must carry them)"},
    {"safety_threshold", "number", "0.15", "sigmoid(safety score) below it: the safety score is the reward"},
    {"beta", "number", "0.01", "KL penalty per token (>= 0)"},
    {"gamma", "number", "1", "GAE discount"},
    {"lambda", "number", "0.95", "GAE lambda"},
    {"clip", "number", "0.2", "policy ratio clip"},
    {"value_clip", "number", "0.2", "value clip around the old values"},
    {"lr", "number", "1e-5", "policy learning rate (constant)"},
    {"value_lr", "number", "1e-5", "value model learning rate (constant)"},
    {"batch", "integer", "8", "prompts per iteration (one answer each)"},
    {"mini_batch", "integer", "batch", "answers per update"},
    {"ppo_epochs", "integer", "1", "passes over each iteration's answers"},
    {"max_new_tokens", "integer", "32", "answer tokens at most"},
    {"temperature", "number", "1", "sampling temperature (no top-k, no top-p)"},
    {"iterations", "integer", "10", "PPO iterations"},
    {"rank", "integer", "8", "policy LoRA rank (reference merged only)"},
    {"alpha", "number", "2 x rank", "policy LoRA alpha (reference merged only)"},
    {"target_modules", "strings", "all-linear", "policy LoRA modules (reference merged only)"},
    {"seed", "integer", "0", "policy LoRA init, prompt order and sampling"},
    {"device", "string", "the daemon's device", "auto | cpu | cuda (where sampling, scoring, the recomputation and both updates run)"},
    {"output", "string", "ppo-<job id>", "name of the policy adapter"},
    {"checkpoint_every", "integer", "0", "iterations between checkpoints (0: only on shutdown and at the end)"},
};

PpoSpec parse_ppo_spec(const json& spec) {
  plugin::SpecReader r(spec);
  PpoSpec s;
  const auto job_id = r.optional_integer("job_id", 1);
  s.resume_from = r.string_or("resume_from", "");
  read_policy_and_rewards(r, s, "the SFT adapter to keep frozen as the reference");
  s.beta = r.number_or("beta", 0.01, 0.0, 1e6);
  s.gamma = r.number_or("gamma", 1.0, 0.0, 1.0);
  s.lambda = r.number_or("lambda", 0.95, 0.0, 1.0);
  s.clip = r.number_or("clip", 0.2, 1e-9, 1e6);
  s.value_clip = r.number_or("value_clip", 0.2, 1e-9, 1e6);
  s.lr = r.number_or("lr", 1e-5, 0.0, 10.0);
  s.value_lr = r.number_or("value_lr", 1e-5, 0.0, 10.0);
  s.batch = r.integer_or("batch", 8, 1, 1 << 16);
  s.mini_batch = r.integer_or("mini_batch", 0, 0, 1 << 16);
  if (s.mini_batch > s.batch) spec_fail("mini_batch", "must not exceed batch (" + std::to_string(s.batch) + ")");
  s.ppo_epochs = r.integer_or("ppo_epochs", 1, 1, 1000);
  s.max_new_tokens = r.integer_or("max_new_tokens", 32, 1, 1 << 16);
  s.temperature = r.number_or("temperature", 1.0, 1e-6, 100.0);
  s.iterations = r.integer_or("iterations", 10, 1, 1 << 24);
  auto rank = r.optional_integer("rank", 1, 4096);
  auto alpha = r.optional_number("alpha", 1e-9, 1e6);
  auto targets = r.optional_strings("target_modules");
  if (s.reference == ReferenceMode::kAdapter) {
    for (const char* f : {"rank", "alpha", "target_modules"})
      if (spec.contains(f)) spec_fail(f, "not used with reference 'adapter' (the policy is a copy of the SFT adapter)");
  } else {
    s.lora = plugin::lora_from_spec(rank, alpha, std::nullopt, targets);
  }
  s.seed = static_cast<uint64_t>(r.integer_or("seed", 0, 0));
  s.device = plugin::read_device(r);
  s.output = r.string_or("output", "");
  if (s.output.empty() && job_id) s.output = default_ppo_output(*job_id);
  if (!s.output.empty() || spec.contains("output")) check_output_name("output", s.output);
  s.checkpoint_every = r.integer_or("checkpoint_every", 0, 0);
  r.finish();
  return s;
}

void validate_ppo_spec(const json& spec) {
  const PpoSpec s = parse_ppo_spec(spec);
  if (!Host::lookup("model", s.model)) spec_fail("model", "unknown model '" + s.model + "'");
  if (!s.adapter.empty()) {
    auto a = Host::lookup("adapter", s.adapter);
    if (!a) spec_fail("adapter", "unknown adapter '" + s.adapter + "'");
    plugin::check_adapter_base("adapter", s.adapter, *a, s.model);
    const std::string kind = a->value("kind", "policy");
    if (kind != "policy") spec_fail("adapter", "'" + s.adapter + "' is a " + kind + " adapter; ppo needs a policy (SFT) adapter");
  }
  check_reward_model("helpfulness", s.helpfulness, "helpfulness", s.model);
  check_reward_model("safety", s.safety, "safety", s.model);
  check_prompt_dataset("dataset", s.dataset, s.safety_tags);
  plugin::choose_device(s.device, "");
  if (!s.output.empty() && Host::lookup("adapter", s.output))
    spec_fail("output", "adapter '" + s.output + "' already exists");
}

}  // namespace wb::rlhf
