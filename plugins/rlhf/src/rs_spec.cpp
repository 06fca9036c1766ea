#include "rs_spec.h"

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

const std::vector<SpecField> kRsFields = {
    {"model", "string", "", "the base model the SFT adapter and both reward models were trained on"},
    {"adapter", "string", "none", "the SFT adapter, the policy that samples the first round (none: the model itself)"},
    {"reference", "string", "adapter with an SFT adapter, else merged", "adapter: the policy is a copy of the SFT adapter | merged: a fresh LoRA on the model"},
    {"helpfulness", "string", "", "helpfulness reward model (a reward_helpfulness adapter of model)"},
    {"safety", "string", "", "safety reward model (a reward_safety adapter of model)"},
    {"dataset", "string", "", "prompt dataset; its train split is sampled"},
    {"safety_tags", "boolean", "true", "the rows' is_safety_prompt tags mark unsafe prompts for the reward gate (the dataset must carry them)"},
    {"safety_threshold", "number", "0.15", "sigmoid(safety score) below it: the safety score is the reward"},
    {"k", "integer", "8", "answers sampled per prompt and round (>= 1)"},
    {"temperature", "number", "1.2", "sampling temperature (no top-k, no top-p)"},
    {"max_new_tokens", "integer", "32", "answer tokens at most"},
    {"rounds", "integer", "1", "rounds of sample, keep the best, SFT"},
    {"epochs", "integer", "1", "SFT passes over the kept answers per round"},
    {"batch_size", "integer", "8", "kept answers per SFT step"},
    {"lr", "number", "1e-4", "SFT learning rate (constant)"},
    {"weight_decay", "number", "0", "AdamW weight decay"},
    {"clip", "number", "1", "gradient-norm clipping (0: off)"},
    {"rank", "integer", "8", "policy LoRA rank (reference merged only)"},
    {"alpha", "number", "2 x rank", "policy LoRA alpha (reference merged only)"},
    {"target_modules", "strings", "all-linear", "policy LoRA modules (reference merged only)"},
    {"seed", "integer", "0", "policy LoRA init, sampling and SFT order"},
    {"device", "string", "the daemon's device", "auto | cpu | cuda (sampling, scoring and the SFT pass)"},
    {"output", "string", "rs-<job id>", "name of the policy adapter"},
    {"checkpoint_every", "integer", "0", "SFT steps between checkpoints (0: at each round's end, on shutdown and at the end)"},
};

RsSpec parse_rs_spec(const json& spec) {
  plugin::SpecReader r(spec);
  RsSpec s;
  const auto job_id = r.optional_integer("job_id", 1);
  s.resume_from = r.string_or("resume_from", "");
  read_policy_and_rewards(r, s, "the SFT adapter the policy starts from");
  s.k = r.integer_or("k", 8, 1, 4096);
  s.temperature = r.number_or("temperature", 1.2, 1e-6, 100.0);
  s.max_new_tokens = r.integer_or("max_new_tokens", 32, 1, 1 << 16);
  s.rounds = r.integer_or("rounds", 1, 1, 10000);
  s.epochs = r.integer_or("epochs", 1, 1, 10000);
  s.batch_size = r.integer_or("batch_size", 8, 1, 4096);
  s.lr = r.number_or("lr", 1e-4, 0.0, 10.0);
  s.weight_decay = r.number_or("weight_decay", 0.0, 0.0, 10.0);
  s.clip = r.number_or("clip", 1.0, 0.0);
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
  if (s.output.empty() && job_id) s.output = default_rs_output(*job_id);
  if (!s.output.empty() || spec.contains("output")) check_output_name("output", s.output);
  s.checkpoint_every = r.integer_or("checkpoint_every", 0, 0);
  r.finish();
  return s;
}

void validate_rs_spec(const json& spec) {
  const RsSpec s = parse_rs_spec(spec);
  if (!Host::lookup("model", s.model)) spec_fail("model", "unknown model '" + s.model + "'");
  if (!s.adapter.empty()) {
    auto a = Host::lookup("adapter", s.adapter);
    if (!a) spec_fail("adapter", "unknown adapter '" + s.adapter + "'");
    plugin::check_adapter_base("adapter", s.adapter, *a, s.model);
    const std::string kind = a->value("kind", "policy");
    if (kind != "policy")
      spec_fail("adapter", "'" + s.adapter + "' is a " + kind + " adapter; rejection sampling needs a policy (SFT) adapter");
  }
  check_reward_model("helpfulness", s.helpfulness, "helpfulness", s.model);
  check_reward_model("safety", s.safety, "safety", s.model);
  check_prompt_dataset("dataset", s.dataset, s.safety_tags);
  plugin::choose_device(s.device, "");
  if (!s.output.empty() && Host::lookup("adapter", s.output))
    spec_fail("output", "adapter '" + s.output + "' already exists");
}

}  // namespace wb::rlhf
