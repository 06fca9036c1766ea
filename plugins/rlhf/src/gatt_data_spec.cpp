#include "gatt_data_spec.h"

#include <cctype>

#include "wb/plugin/adapter_base.h"
#include "wb/plugin/device.h"
#include "wb/plugin/host.h"
#include "wb/plugin/spec.h"

namespace wb::rlhf {
using nlohmann::json;
using plugin::Host;
using plugin::spec_fail;

const std::vector<SpecField> kGattDataFields = {
    {"model", "string", "", "the model that samples the replies"},
    {"adapter", "string", "none", "a policy (SFT/RLHF) adapter of that model"},
    {"dataset", "string", "", "sft dataset of dialogues: the system instruction, then user turns (assistant turns ignored)"},
    {"split", "string", "train", "train | eval | all"},
    {"output", "string", "gatt-<job id>", "the sft dataset written (must not exist)"},
    {"ghost", "boolean", "true",
     "true: the instruction on every sampled user turn, earlier turns at weight 0 | false: the baseline without GAtt "
     "(instruction only in the first turn, every reply trained)"},
    {"k", "integer", "4",
     "with ghost, on a suite persona: candidates per turn, the greedy reply then up to k-1 draws at temperature when "
     "it does not obey; the best by the suite's checker is kept, a turn with none obeying ends the dialogue | 0: every "
     "reply kept unchecked (0..64)"},
    {"temperature", "number", "1.0", "temperature of the k-1 draws (no top-k, no top-p)"},
    {"seed", "integer", "0", "seeds the draws"},
    {"max_tokens", "integer", "64", "tokens per sampled reply (1..4096)"},
    {"limit", "integer", "0", "dialogues read (0: all)"},
    {"batch", "integer", "8", "dialogues sampled together (1..1024)"},
    {"device", "string", "the daemon's device", "auto | cpu | cuda"},
};

GattDataSpec parse_gatt_data_spec(const json& spec) {
  plugin::SpecReader r(spec);
  GattDataSpec s;
  const auto job_id = r.optional_integer("job_id", 1);
  s.resume_from = r.string_or("resume_from", "");
  s.model = r.string("model");
  s.adapter = r.string_or("adapter", "");
  s.dataset = r.string("dataset");
  s.split = r.one_of_or("split", {"train", "eval", "all"}, "train");
  s.output = r.string_or("output", "");
  if (s.output.empty() && job_id) s.output = "gatt-" + std::to_string(*job_id);
  for (char c : s.output)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      spec_fail("output", "may contain only letters, digits, '-', '_' and '.', got '" + s.output + "'");
  s.max_tokens = r.integer_or("max_tokens", 64, 1, 4096);
  s.limit = r.integer_or("limit", 0, 0);
  s.batch = r.integer_or("batch", 8, 1, 1024);
  s.ghost = r.boolean_or("ghost", true);
  s.k = r.integer_or("k", 4, 0, 64);
  s.temperature = r.number_or("temperature", 1.0, 1e-6, 100.0);
  s.seed = static_cast<uint64_t>(r.integer_or("seed", 0, 0));
  s.device = plugin::read_device(r);
  r.finish();
  return s;
}

void validate_gatt_data_spec(const json& spec) {
  const GattDataSpec s = parse_gatt_data_spec(spec);
  if (!Host::lookup("model", s.model)) spec_fail("model", "unknown model '" + s.model + "'");
  if (!s.adapter.empty()) {
    auto a = Host::lookup("adapter", s.adapter);
    if (!a) spec_fail("adapter", "unknown adapter '" + s.adapter + "'");
    plugin::check_adapter_base("adapter", s.adapter, *a, s.model);
    const std::string kind = a->value("kind", "policy");
    if (kind != "policy") spec_fail("adapter", "'" + s.adapter + "' is a " + kind + " adapter; gatt_data samples from a policy");
  }
  auto d = Host::lookup("dataset", s.dataset);
  if (!d) spec_fail("dataset", "unknown dataset '" + s.dataset + "'");
  if (d->value("kind", "") != "sft")
    spec_fail("dataset", "'" + s.dataset + "' is a " + d->value("kind", "?") +
                             " dataset; gatt_data needs an sft dataset of dialogues (system, user, ...)");
  plugin::choose_device(s.device, "");
  if (!s.output.empty() && Host::lookup("dataset", s.output))
    spec_fail("output", "dataset '" + s.output + "' already exists");
}

}  // namespace wb::rlhf
