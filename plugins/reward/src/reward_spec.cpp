#include "reward_spec.h"

#include <cmath>
#include <filesystem>
#include <optional>

#include "wb/plugin/adapter_base.h"
#include "wb/plugin/host.h"
#include "wb/plugin/data_parallel.h"
#include "wb/plugin/device.h"
#include "wb/plugin/spec.h"
#include "wb/plugin/training_options.h"
#include "wb/plugin/fields.h"
#include "spec_fields.h"

namespace wb::reward {
namespace fs = std::filesystem;
using nlohmann::json;
using plugin::Host;
using plugin::spec_fail;
using plugin::SpecReader;
using plugin::lora_from_spec;

std::string reward_kind(const std::string& head) { return "reward_" + head; }

std::string reward_cpu_only(const RewardSpec& s, const llama::LoraConfig* continued) {
  const double dropout = continued ? continued->lora_dropout : s.lora.lora_dropout;
  return dropout > 0 ? "LoRA with dropout" : "";
}

namespace {

void check_output_name(const std::string& name) {
  if (name.size() > 128) spec_fail("output", "longer than 128 characters");
  if (name.front() == '.' || name.front() == '-') spec_fail("output", "must not start with '.' or '-'");
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      spec_fail("output", "may contain only letters, digits, '-', '_' and '.', got '" + name + "'");
}

std::vector<DatasetMix> parse_datasets(const json& spec) {
  auto it = spec.find("datasets");
  if (it == spec.end() || it->is_null()) spec_fail("datasets", "is required");
  json list = it->is_array() ? *it : json::array({*it});
  if (list.empty()) spec_fail("datasets", "must name at least one preference dataset");
  std::vector<DatasetMix> out;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string f = "datasets[" + std::to_string(i) + "]";
    const json& e = list[i];
    DatasetMix m;
    if (e.is_string()) {
      m.name = e.get<std::string>();
    } else if (e.is_object()) {
      for (auto& [k, v] : e.items())
        if (k != "name" && k != "ratio") spec_fail(f + "." + k, "unknown field");
      if (!e.contains("name") || !e["name"].is_string()) spec_fail(f + ".name", "expected a string");
      m.name = e["name"].get<std::string>();
      if (e.contains("ratio")) {
        if (!e["ratio"].is_number() || !std::isfinite(e["ratio"].get<double>()) || e["ratio"].get<double>() <= 0)
          spec_fail(f + ".ratio", "expected a number > 0");
        m.ratio = e["ratio"].get<double>();
      }
    } else {
      spec_fail(f, "expected a dataset name or {\"name\",\"ratio\"}");
    }
    if (m.name.empty()) spec_fail(f + ".name", "must not be empty");
    for (const auto& prev : out)
      if (prev.name == m.name) spec_fail(f + ".name", "'" + m.name + "' listed twice");
    out.push_back(m);
  }
  return out;
}

void parse_lora(plugin::FieldReader& r, const json& spec, RewardSpec& s) {
  const std::optional<int64_t> rank = r.integer("rank");
  auto alpha = r.optional_number("alpha");
  const std::optional<double> dropout = r.number("dropout");
  auto targets = r.optional_strings("target_modules");
  if (!s.adapter.empty()) {
    for (const char* f : {"rank", "alpha", "dropout", "target_modules"})
      if (spec.contains(f)) spec_fail(f, "not used with adapter (the SFT adapter's own LoRA settings continue)");
    return;
  }
  s.lora = lora_from_spec(rank, alpha, dropout, targets);
}

}  // namespace

RewardSpec parse_reward_spec(const json& spec) {
  plugin::FieldReader r(kRewardFields, spec);
  (void)r.job_id();
  RewardSpec s;
  s.resume_from = r.resume_from();
  s.model = r.string("model");
  s.adapter = r.optional_string("adapter").value_or("");
  s.head = r.string("head");
  s.output = r.string("output");
  check_output_name(s.output);
  (void)r.take("datasets", plugin::FieldType::Array);
  s.datasets = parse_datasets(spec);
  if (auto e = r.optional_strings("eval_datasets")) s.eval_datasets = *e;
  if (const json* m = r.take("margins", plugin::FieldType::Array)) {
    if (!m->is_array() || m->size() != 4) spec_fail("margins", "expected 4 numbers (ratings 0..3)");
    for (size_t k = 0; k < 4; ++k) {
      if (!(*m)[k].is_number() || !std::isfinite((*m)[k].get<double>()) || (*m)[k].get<double>() < 0)
        spec_fail("margins", "entry " + std::to_string(k) + " must be a finite number >= 0");
      s.margins[k] = (*m)[k].get<float>();
    }
  }
  s.centering = r.number("centering");
  parse_lora(r, spec, s);
  s.lr = r.number("lr");
  s.min_lr = r.number("min_lr");
  if (s.min_lr > s.lr) spec_fail("min_lr", "must not exceed lr");
  s.schedule = r.string("schedule");
  s.warmup = r.number("warmup");
  if (s.warmup >= 1 && s.warmup != std::floor(s.warmup))
    spec_fail("warmup", "a step count (>= 1) must be an integer; a fraction must be < 1");
  s.weight_decay = r.number("weight_decay");
  s.clip = r.number("clip");
  s.epochs = r.integer("epochs");
  s.max_steps = r.optional_integer("max_steps");
  if (s.max_steps && spec.contains("epochs")) spec_fail("max_steps", "give epochs or max_steps, not both");
  s.batch = r.integer("batch");
  s.grad_accum = r.integer("grad_accum");
  s.max_len = r.integer("max_len");
  if (s.max_len == 1) spec_fail("max_len", "must be >= 2 (or 0 for the default)");
  s.seed = static_cast<uint64_t>(r.integer("seed"));
  s.eval_every = r.integer("eval_every");
  s.log_every = r.integer("log_every");
  s.checkpoint_every = r.integer("checkpoint_every");
  s.device = r.device();
  s.world = r.integer("world");
  s.reshard = r.boolean("reshard");
  r.finish();
  return s;
}

void validate_reward_spec(const json& spec) {
  const RewardSpec s = parse_reward_spec(spec);
  if (!Host::lookup("model", s.model)) spec_fail("model", "unknown model '" + s.model + "'");
  std::optional<llama::LoraConfig> continued;
  if (!s.adapter.empty()) {
    auto a = Host::lookup("adapter", s.adapter);
    if (!a) spec_fail("adapter", "unknown adapter '" + s.adapter + "'");
    plugin::check_adapter_base("adapter", s.adapter, *a, s.model);
    const fs::path cfg = fs::path(a->value("path", "")) / "adapter_config.json";
    if (fs::is_regular_file(cfg)) continued = llama::load_peft_config(cfg);
  }
  // "cuda" that cannot run here is refused now, naming the field and the reason.
  plugin::choose_device(s.device, reward_cpu_only(s, continued ? &*continued : nullptr));
  plugin::check_world(s.world);
  auto check_ds = [](const std::string& field, const std::string& name) {
    auto d = Host::lookup("dataset", name);
    if (!d) spec_fail(field, "unknown dataset '" + name + "'");
    if (d->value("kind", "") != "preference")
      spec_fail(field, "'" + name + "' is a " + d->value("kind", "?") + " dataset; reward needs a preference dataset");
  };
  for (size_t i = 0; i < s.datasets.size(); ++i) check_ds("datasets[" + std::to_string(i) + "].name", s.datasets[i].name);
  for (const auto& e : s.eval_datasets) check_ds("eval_datasets", e);
  if (Host::lookup("adapter", s.output)) spec_fail("output", "adapter '" + s.output + "' already exists");
}

}  // namespace wb::reward
