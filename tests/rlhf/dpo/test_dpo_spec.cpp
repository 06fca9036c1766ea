// The dpo spec parser against its field table: every field of kDpoFields is read by the parser
// (a wrong type is an error naming the field, never "unknown field"), the defaults are the
// table's, and the output defaults to dpo-<job id> once the daemon adds the job id.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "dpo_spec.h"
#include "wb/plugin/spec.h"

using namespace wb::rlhf;
using nlohmann::json;

TEST_CASE("every field of the dpo field table is read by the parser", "[rlhf][dpo]") {
  const json minimal = {{"model", "base"}, {"dataset", "prefs"}};
  for (const SpecField& f : kDpoFields) {
    json spec = minimal;
    spec[f.name] = json::object();  // no field of the spec takes an object
    INFO(f.name);
    try {
      parse_dpo_spec(spec);
      FAIL("accepted an object for " << f.name);
    } catch (const wb::plugin::SpecError& e) {
      const std::string what = e.what();
      CHECK_THAT(what, Catch::Contains("'" + std::string(f.name) + "'"));
      CHECK_THAT(what, !Catch::Contains("unknown field"));
    }
  }
}

TEST_CASE("dpo spec defaults are the table's and output is dpo-<job id>", "[rlhf][dpo]") {
  const DpoSpec s = parse_dpo_spec({{"model", "base"}, {"dataset", "prefs"}});
  CHECK(s.reference == ReferenceMode::kMerged);
  CHECK(s.beta == 0.1);
  CHECK(s.lr == 1e-4);
  CHECK(s.schedule == "constant");
  CHECK(s.batch_size == 8);
  CHECK(s.grad_accum == 1);
  CHECK(s.epochs == 1);
  CHECK_FALSE(s.max_steps);
  CHECK(s.lora.r == 8);
  CHECK(s.lora.lora_alpha == 16.0);
  CHECK(s.lora.target_modules.size() == 7);
  CHECK(s.max_seq_len == 0);
  CHECK(s.output.empty());
  CHECK(derived_base_name(s).empty());
  auto field = [](const char* name) {
    for (const auto& f : kDpoFields)
      if (std::string(f.name) == name) return std::string(f.default_value);
    return std::string("<absent>");
  };
  CHECK(field("beta") == "0.1");
  CHECK(field("lr") == "1e-4");
  CHECK(field("reference") == "merged");
  CHECK(field("batch_size") == "8");

  const DpoSpec named = parse_dpo_spec({{"model", "base"}, {"adapter", "sft"}, {"dataset", "prefs"}, {"job_id", 7}});
  CHECK(named.output == "dpo-7");
  CHECK(derived_base_name(named) == "dpo-7-base");
  const DpoSpec adapter_mode =
      parse_dpo_spec({{"model", "base"}, {"adapter", "sft"}, {"dataset", "prefs"}, {"reference", "adapter"}, {"job_id", 7}});
  CHECK(derived_base_name(adapter_mode).empty());
}
