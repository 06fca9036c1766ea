// The ppo and rejection_sampling spec parsers against their field tables: every field of kPpoFields
// and kRsFields is read by its parser (a wrong type is an error naming the field, never "unknown
// field"), the defaults are the tables', the output defaults to ppo-<job id> / rs-<job id>, and the
// reference mode follows the SFT adapter.
#include <catch2/catch.hpp>

#include <string>

#include "ppo_spec.h"
#include "rs_spec.h"
#include "wb/plugin/spec.h"

using namespace wb::rlhf;
using nlohmann::json;

namespace {

const json kMinimal = {{"model", "base"}, {"helpfulness", "rm-h"}, {"safety", "rm-s"}, {"dataset", "prompts"}};

template <typename Parse>
void every_field_read(const std::vector<SpecField>& table, Parse parse) {
  for (const SpecField& f : table) {
    json spec = kMinimal;
    spec[f.name] = json::object();  // no field of the spec takes an object
    INFO(f.name);
    try {
      parse(spec);
      FAIL("accepted an object for " << f.name);
    } catch (const wb::plugin::SpecError& e) {
      const std::string what = e.what();
      CHECK_THAT(what, Catch::Contains("'" + std::string(f.name) + "'"));
      CHECK_THAT(what, !Catch::Contains("unknown field"));
    }
  }
}

std::string default_of(const std::vector<SpecField>& table, const char* name) {
  for (const auto& f : table)
    if (std::string(f.name) == name) return f.default_value;
  return "<absent>";
}

}  // namespace

TEST_CASE("every field of the ppo and rejection_sampling field tables is read by the parser", "[rlhf][ppo][rs]") {
  every_field_read(kPpoFields, [](const json& s) { return parse_ppo_spec(s); });
  every_field_read(kRsFields, [](const json& s) { return parse_rs_spec(s); });
}

TEST_CASE("ppo spec defaults are the table's and output is ppo-<job id>", "[rlhf][ppo]") {
  const PpoSpec s = parse_ppo_spec(kMinimal);
  CHECK(s.reference == ReferenceMode::kMerged);
  CHECK(s.beta == 0.01);
  CHECK(default_of(kPpoFields, "beta") == "0.01");
  CHECK(s.gamma == 1.0);
  CHECK(s.lambda == 0.95);
  CHECK(default_of(kPpoFields, "lambda") == "0.95");
  CHECK(s.clip == 0.2);
  CHECK(s.value_clip == 0.2);
  CHECK(s.batch == 8);
  CHECK(s.mini_batch == 0);
  CHECK(s.ppo_epochs == 1);
  CHECK(s.safety_tags);
  CHECK(s.safety_threshold == 0.15);
  CHECK(s.output.empty());
  json named = kMinimal;
  named["adapter"] = "sft";
  named["job_id"] = 7;
  const PpoSpec n = parse_ppo_spec(named);
  CHECK(n.reference == ReferenceMode::kAdapter);
  CHECK(n.output == "ppo-7");
}

TEST_CASE("rejection_sampling spec defaults are the table's, K = 0 is refused, output is rs-<job id>", "[rlhf][rs]") {
  const RsSpec s = parse_rs_spec(kMinimal);
  CHECK(s.k == 8);
  CHECK(default_of(kRsFields, "k") == "8");
  CHECK(s.temperature == 1.2);
  CHECK(default_of(kRsFields, "temperature") == "1.2");
  CHECK(s.rounds == 1);
  CHECK(s.epochs == 1);
  CHECK(s.batch_size == 8);
  CHECK(s.lr == 1e-4);
  json zero = kMinimal;
  zero["k"] = 0;
  CHECK_THROWS_WITH(parse_rs_spec(zero), Catch::Contains("field 'k'"));
  json named = kMinimal;
  named["job_id"] = 3;
  CHECK(parse_rs_spec(named).output == "rs-3");
}
