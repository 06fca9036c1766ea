#include "dpo_spec.h"

#include <cctype>
#include <cmath>

#include "wb/plugin/adapter_base.h"
#include "wb/plugin/device.h"
#include "wb/plugin/host.h"
#include "wb/plugin/spec.h"
#include "wb/plugin/training_options.h"

namespace wb::rlhf {
using nlohmann::json;
using plugin::Host;
using plugin::spec_fail;

const std::vector<SpecField> kDpoFields = {
    {"model", "string", "", "the base model the SFT adapter was trained on"},
    {"adapter", "string", "none", "the SFT adapter, the reference policy (none: the model itself)"},
    {"dataset", "string", "", "preference dataset (prompt, chosen, rejected); its train split is trained on, its eval split evaluated"},
    {"reference", "string", "merged", "merged: SFT adapter merged into a derived base, fresh policy LoRA on it | adapter: SFT adapter frozen, policy a copy of it"},
    {"beta", "number", "0.1", "DPO temperature beta (>= 0)"},
    {"lr", "number", "1e-4", "learning rate"},
    {"min_lr", "number", "0", "final rate of the cosine schedule"},
    {"schedule", "string", "constant", "constant | cosine"},
    {"warmup", "number", "0", "warm-up steps (>= 1) or fraction of the run (< 1)"},
    {"weight_decay", "number", "0", "AdamW weight decay"},
    {"clip", "number", "1", "gradient-norm clipping (0: off)"},
    {"epochs", "integer", "1", "passes over the training pairs"},
    {"max_steps", "integer", "none", "optimizer steps (instead of epochs)"},
    {"batch_size", "integer", "8", "preference pairs per micro-batch"},
    {"grad_accum", "integer", "1", "micro-batches per optimizer step"},
    {"rank", "integer", "8", "policy LoRA rank (reference merged only)"},
    {"alpha", "number", "2 x rank", "policy LoRA alpha (reference merged only)"},
    {"target_modules", "strings", "all-linear", "policy LoRA modules (reference merged only)"},
    {"max_seq_len", "integer", "min(256, context)", "tokens per prompt + answer sequence (longer ones are cut)"},
    {"seed", "integer", "0", "policy LoRA init and data order"},
    {"device", "string", "the daemon's device", "auto | cpu | cuda (where the DPO step and the reference log-probs run)"},
    {"output", "string", "dpo-<job id>", "name of the policy adapter"},
    {"checkpoint_every", "integer", "0", "steps between checkpoints (0: only on shutdown and at the end)"},
    {"log_every", "integer", "1", "steps between metric points"},
};

namespace {

void check_name(const std::string& field, const std::string& name) {
  if (name.size() > 128) spec_fail(field, "longer than 128 characters");
  if (name.front() == '.' || name.front() == '-') spec_fail(field, "must not start with '.' or '-'");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      spec_fail(field, "may contain only letters, digits, '-', '_' and '.', got '" + name + "'");
}

}  // namespace

std::string derived_base_name(const DpoSpec& s) {
  if (s.reference != ReferenceMode::kMerged || s.adapter.empty() || s.output.empty()) return "";
  return s.output + "-base";
}

DpoSpec parse_dpo_spec(const json& spec) {
  plugin::SpecReader r(spec);
  DpoSpec s;
  const auto job_id = r.optional_integer("job_id", 1);
  s.resume_from = r.string_or("resume_from", "");
  s.model = r.string("model");
  s.adapter = r.string_or("adapter", "");
  s.dataset = r.string("dataset");
  s.reference = *parse_reference_mode(r.one_of_or("reference", {"merged", "adapter"}, "merged"));
  if (s.reference == ReferenceMode::kAdapter && s.adapter.empty())
    spec_fail("adapter", "reference 'adapter' needs the SFT adapter to keep frozen as the reference");
  s.beta = r.number_or("beta", 0.1, 0.0, 1e6);
  s.lr = r.number_or("lr", 1e-4, 0.0, 10.0);
  s.min_lr = r.number_or("min_lr", 0.0, 0.0, 10.0);
  if (s.min_lr > s.lr) spec_fail("min_lr", "must not exceed lr");
  s.schedule = r.one_of_or("schedule", {"constant", "cosine"}, "constant");
  s.warmup = r.number_or("warmup", 0.0, 0.0, 1e9);
  if (s.warmup >= 1 && s.warmup != std::floor(s.warmup))
    spec_fail("warmup", "a step count (>= 1) must be an integer; a fraction must be < 1");
  s.weight_decay = r.number_or("weight_decay", 0.0, 0.0, 10.0);
  s.clip = r.number_or("clip", 1.0, 0.0);
  s.epochs = r.integer_or("epochs", 1, 1, 10000);
  s.max_steps = r.optional_integer("max_steps", 1);
  if (s.max_steps && spec.contains("epochs")) spec_fail("max_steps", "give epochs or max_steps, not both");
  s.batch_size = r.integer_or("batch_size", 8, 1, 4096);
  s.grad_accum = r.integer_or("grad_accum", 1, 1, 4096);
  auto rank = r.optional_integer("rank", 1, 4096);
  auto alpha = r.optional_number("alpha", 1e-9, 1e6);
  auto targets = r.optional_strings("target_modules");
  if (s.reference == ReferenceMode::kAdapter) {
    for (const char* f : {"rank", "alpha", "target_modules"})
      if (spec.contains(f)) spec_fail(f, "not used with reference 'adapter' (the policy is a copy of the SFT adapter)");
  } else {
    s.lora = plugin::lora_from_spec(rank, alpha, std::nullopt, targets);
  }
  s.max_seq_len = r.integer_or("max_seq_len", 0, 0, 1 << 20);
  if (s.max_seq_len == 1) spec_fail("max_seq_len", "must be >= 2 (or 0 for the default)");
  s.seed = static_cast<uint64_t>(r.integer_or("seed", 0, 0));
  s.device = plugin::read_device(r);
  s.output = r.string_or("output", "");
  if (s.output.empty() && job_id) s.output = default_dpo_output(*job_id);
  if (!s.output.empty() || spec.contains("output")) check_name("output", s.output);
  s.checkpoint_every = r.integer_or("checkpoint_every", 0, 0);
  s.log_every = r.integer_or("log_every", 1, 1);
  r.finish();
  return s;
}

void validate_dpo_spec(const json& spec) {
  const DpoSpec s = parse_dpo_spec(spec);
  auto model = Host::lookup("model", s.model);
  if (!model) spec_fail("model", "unknown model '" + s.model + "'");
  if (!s.adapter.empty()) {
    auto a = Host::lookup("adapter", s.adapter);
    if (!a) spec_fail("adapter", "unknown adapter '" + s.adapter + "'");
    plugin::check_adapter_base("adapter", s.adapter, *a, s.model);
    const std::string kind = a->value("kind", "policy");
    if (kind != "policy") spec_fail("adapter", "'" + s.adapter + "' is a " + kind + " adapter; dpo needs a policy (SFT) adapter");
  }
  auto d = Host::lookup("dataset", s.dataset);
  if (!d) spec_fail("dataset", "unknown dataset '" + s.dataset + "'");
  if (d->value("kind", "") != "preference")
    spec_fail("dataset", "'" + s.dataset + "' is a " + d->value("kind", "?") +
                             " dataset; dpo needs a preference dataset (prompt, chosen, rejected)");
  if (s.max_seq_len > 0 && model->contains("config") && (*model)["config"].is_object()) {
    const int64_t ctx = (*model)["config"].value("max_position_embeddings", int64_t{0});
    if (ctx > 0 && s.max_seq_len > ctx)
      spec_fail("max_seq_len", std::to_string(s.max_seq_len) + " exceeds the model's context of " + std::to_string(ctx));
  }
  plugin::choose_device(s.device, "");
  if (!s.output.empty() && Host::lookup("adapter", s.output))
    spec_fail("output", "adapter '" + s.output + "' already exists");
  const std::string derived = derived_base_name(s);
  if (!derived.empty() && Host::lookup("model", derived))
    spec_fail("output", "the derived base '" + derived + "' it would create already exists as a model");
}

}  // namespace wb::rlhf
