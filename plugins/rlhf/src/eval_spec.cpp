#include "eval_spec.h"

#include "wb/plugin/adapter_base.h"
#include "wb/plugin/device.h"
#include "wb/plugin/host.h"
#include "wb/plugin/spec.h"

namespace wb::rlhf {
using nlohmann::json;
using plugin::Host;
using plugin::spec_fail;

const std::vector<SpecField> kRlhfEvalFields = {
    {"model", "string", "", "the policy's base model"},
    {"adapter", "string", "none", "the policy adapter (none: the model alone)"},
    {"prompts", "string", "", "prompt dataset (rows {\"prompt\", \"is_safety_prompt\"?}); untagged rows are classified by the suite's checker"},
    {"split", "string", "auto", "auto (the eval split when there is one, else all) | eval | train | all"},
    {"helpfulness_rm", "string", "", "helpfulness reward model (adapter of kind reward_helpfulness)"},
    {"safety_rm", "string", "", "safety reward model (adapter of kind reward_safety)"},
    {"safety_threshold", "number", "0.15", "the gate: safety decides when the prompt is unsafe or sigmoid(safety) < this"},
    {"max_tokens", "integer", "32", "new tokens per answer (greedy, EOS stops)"},
    {"limit", "integer", "0", "prompts evaluated (0: all of the split)"},
    {"batch", "integer", "16", "prompts generated and scored together"},
    {"max_len", "integer", "the reward model's", "tokens a reward model reads per prompt + answer (default: the max_len it was trained with)"},
    {"device", "string", "the daemon's device", "auto | cpu | cuda (generation and scoring)"},
};

RlhfEvalSpec parse_rlhf_eval_spec(const json& spec) {
  plugin::SpecReader r(spec);
  RlhfEvalSpec s;
  r.optional_integer("job_id", 1);
  r.string_or("resume_from", "");
  s.model = r.string("model");
  s.adapter = r.string_or("adapter", "");
  s.prompts = r.string("prompts");
  s.split = r.one_of_or("split", {"auto", "eval", "train", "all"}, "auto");
  s.helpfulness_rm = r.string("helpfulness_rm");
  s.safety_rm = r.string("safety_rm");
  s.safety_threshold = r.number_or("safety_threshold", 0.15, 1e-9, 1.0 - 1e-9);
  s.max_tokens = r.integer_or("max_tokens", 32, 1, 4096);
  s.limit = r.integer_or("limit", 0, 0, 10'000'000);
  s.batch = r.integer_or("batch", 16, 1, 1024);
  s.max_len = r.integer_or("max_len", 0, 2, 1'000'000);
  s.device = plugin::read_device(r);
  r.finish();
  return s;
}

namespace {

json lookup_or_fail(const std::string& field, const std::string& kind, const std::string& name) {
  auto rec = Host::lookup(kind, name);
  if (!rec) spec_fail(field, "unknown " + kind + " '" + name + "'");
  return *rec;
}

void check_rm(const std::string& field, const std::string& name, const std::string& want_kind) {
  const json rec = lookup_or_fail(field, "adapter", name);
  const std::string kind = rec.value("kind", "");
  if (kind != want_kind)
    spec_fail(field, "adapter '" + name + "' is a " + (kind.empty() ? std::string("policy") : kind) +
                         " adapter, not a " + want_kind + " model");
  const std::string base = rec.value("base_model", "");
  if (base.empty() || !Host::lookup("model", base))
    spec_fail(field, "reward model '" + name + "': its base model '" + base + "' is not registered");
}

}  // namespace

void validate_rlhf_eval_spec(const json& spec) {
  const RlhfEvalSpec s = parse_rlhf_eval_spec(spec);
  lookup_or_fail("model", "model", s.model);
  if (!s.adapter.empty()) {
    const json rec = lookup_or_fail("adapter", "adapter", s.adapter);
    plugin::check_adapter_base("adapter", s.adapter, rec, s.model);
    const std::string kind = rec.value("kind", "policy");
    if (kind != "policy") spec_fail("adapter", "adapter '" + s.adapter + "' is a " + kind + " adapter, not a policy");
  }
  const json ds = lookup_or_fail("prompts", "dataset", s.prompts);
  if (ds.value("kind", "") != "prompt")
    spec_fail("prompts", "dataset '" + s.prompts + "' is a " + ds.value("kind", "") + " dataset, not a prompt dataset");
  check_rm("helpfulness_rm", s.helpfulness_rm, "reward_helpfulness");
  check_rm("safety_rm", s.safety_rm, "reward_safety");
  plugin::choose_device(s.device, "");
}

}  // namespace wb::rlhf
