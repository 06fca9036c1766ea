// The rlhf plugin's spec tables reach users as data: GET /v1/job-kinds lists every field of
// kDpoFields, kPpoFields, kRsFields and kRlhfEvalFields with its type, required flag and default,
// and `wb train dpo|ppo|rs --help` prints them (before, --help said the plugin declared none).
#include <catch2/catch.hpp>

#include "dpo_spec.h"
#include "eval_spec.h"
#include "field_docs.h"
#include "gatt_data_spec.h"
#include "wb/plugin/spec.h"
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
  check_table(all["gatt_data"], wb::rlhf::kGattDataFields);
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

TEST_CASE("gatt_data: every field of its table is read by the parser, with the table's defaults", "[rlhf][gatt][fields]") {
  const json minimal = {{"model", "base"}, {"dataset", "dialogues"}};
  for (const auto& f : wb::rlhf::kGattDataFields) {
    json spec = minimal;
    spec[f.name] = json::object();  // no field of the spec takes an object
    INFO(f.name);
    try {
      wb::rlhf::parse_gatt_data_spec(spec);
      FAIL("accepted an object for " << f.name);
    } catch (const wb::plugin::SpecError& e) {
      CHECK_THAT(std::string(e.what()), Catch::Contains("'" + std::string(f.name) + "'") && !Catch::Contains("unknown field"));
    }
  }
  const auto s = wb::rlhf::parse_gatt_data_spec(json{{"model", "base"}, {"dataset", "dialogues"}, {"job_id", 7}});
  const json all = json::parse(wb::rlhf::rlhf_job_fields_json());
  auto def = [&](const char* name) {
    for (const auto& f : all["gatt_data"]["fields"])
      if (f["name"] == name) return f.value("default", json());
    return json();
  };
  CHECK(def("split") == s.split);
  CHECK(def("ghost") == s.ghost);
  CHECK(def("max_tokens") == s.max_tokens);
  CHECK(def("limit") == s.limit);
  CHECK(def("batch") == s.batch);
  CHECK(def("k") == s.k);
  CHECK(def("temperature") == s.temperature);
  CHECK(def("seed") == s.seed);
  CHECK(s.output == "gatt-7");
}

TEST_CASE("rlhf: wb job kinds gatt_data and GET /v1/job-kinds/gatt_data show its fields", "[rlhf][gatt][fields][integration]") {
  SftDaemon d(WB_RLHF_TEST_PLUGIN_DIR, "cpu");
  auto kind = d.d.get("/v1/job-kinds/gatt_data");
  REQUIRE(kind.status == 200);
  CHECK(kind.body["plugin"] == "rlhf");
  check_table(kind.body, wb::rlhf::kGattDataFields);
  WbRun help = run_wb(d.socket(), "job kinds gatt_data");
  INFO(help.out);
  CHECK(help.code == 0);
  for (const auto& f : wb::rlhf::kGattDataFields) CHECK_THAT(help.out, Catch::Contains(f.name));
  CHECK_THAT(help.out, Catch::Contains("required"));
}
