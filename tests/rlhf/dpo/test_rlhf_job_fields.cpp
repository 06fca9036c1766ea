// The rlhf plugin's spec tables reach users as data: GET /v1/job-kinds lists every field of
// kDpoFields, kPpoFields, kRsFields and kRlhfEvalFields with its type, required flag and default,
// and `wb train dpo|ppo|rs --help` prints them (before, --help said the plugin declared none).
#include <catch2/catch.hpp>

#include "dpo_spec.h"
#include "eval_spec.h"
#include "field_docs.h"
#include "ppo_spec.h"
#include "rs_spec.h"
#include "sft_fixture.h"

using namespace sfttest;

namespace {

void check_table(const json& described, const std::vector<wb::rlhf::SpecField>& table) {
  REQUIRE(described["fields"].size() == table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    const json& f = described["fields"][i];
    INFO(table[i].name);
    CHECK(f["name"] == table[i].name);
    CHECK(f["type"] == table[i].type);
    CHECK(f["required"] == (std::string(table[i].default_value).empty()));
  }
}

}  // namespace

TEST_CASE("rlhf: the job kinds' spec tables are the plugin's job_fields_json", "[rlhf][fields]") {
  const json all = json::parse(wb::rlhf::rlhf_job_fields_json());
  check_table(all["dpo"], wb::rlhf::kDpoFields);
  check_table(all["ppo"], wb::rlhf::kPpoFields);
  check_table(all["rejection_sampling"], wb::rlhf::kRsFields);
  check_table(all["rlhf_eval"], wb::rlhf::kRlhfEvalFields);
  // Typed defaults where the table's text is a value, the phrase kept in the help otherwise.
  auto field = [&](const char* kind, const char* name) {
    for (const auto& f : all[kind]["fields"])
      if (f["name"] == name) return f;
    return json();
  };
  CHECK(field("dpo", "beta")["default"] == 0.1);
  CHECK(field("dpo", "reference")["default"] == "merged");
  CHECK(field("dpo", "model")["required"] == true);
  CHECK(field("ppo", "safety_tags")["default"] == true);
  CHECK(field("rejection_sampling", "k")["default"] == 8);
  CHECK_FALSE(field("ppo", "alpha").contains("default"));
  CHECK_THAT(field("ppo", "alpha")["help"].get<std::string>(), Catch::Contains("(default: 2 x rank)"));
}

TEST_CASE("rlhf: GET /v1/job-kinds and wb train dpo|ppo|rs --help show the rlhf fields", "[rlhf][fields][integration]") {
  SftDaemon d(WB_RLHF_TEST_PLUGIN_DIR, "cpu");
  auto dpo = d.d.get("/v1/job-kinds/dpo");
  REQUIRE(dpo.status == 200);
  CHECK(dpo.body["plugin"] == "rlhf");
  check_table(dpo.body, wb::rlhf::kDpoFields);
  for (const char* sub : {"dpo", "ppo", "rs"}) {
    WbRun help = run_wb(d.socket(), std::string("train ") + sub + " --help");
    INFO(help.out);
    CHECK(help.code == 0);
    const auto& table = std::string(sub) == "dpo" ? wb::rlhf::kDpoFields
                        : std::string(sub) == "ppo" ? wb::rlhf::kPpoFields
                                                    : wb::rlhf::kRsFields;
    for (const auto& f : table) CHECK_THAT(help.out, Catch::Contains(f.name));
    CHECK_THAT(help.out, Catch::Contains("required"));
  }
}
