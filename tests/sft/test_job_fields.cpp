// The sft plugin's declared spec fields (spec_fields.h) against its parsers and the daemon:
// every declared field is read (none is refused as unknown), an undeclared one is refused, the
// declared defaults are what a spec without the field gets, and GET /v1/job-kinds plus
// `wb train <kind> --help` show the same table.
#include <catch2/catch.hpp>

#include "sft_fixture.h"
#include "spec_fields.h"
#include "specs.h"
#include "wb/plugin/fields.h"

using namespace sfttest;
using wb::plugin::FieldType;

namespace {

// A spec for `kind` holding its required fields with values its parser accepts.
json required_spec(const std::string& kind) {
  if (kind == "model_init") return {{"name", "m"}, {"preset", "tiny"}};
  if (kind == "model_import") return {{"name", "m"}, {"path", "/tmp"}};
  if (kind == "model_export") return {{"model", "m"}, {"out", "/tmp/out"}};
  if (kind == "eval") return {{"model", "m"}, {"dataset", "d"}};
  return {{"model", "m"}, {"dataset", "d"}};
}

// A value of the field's declared type: its default, else its first choice, else its minimum.
json sample(const wb::plugin::Field& f) {
  if (!f.default_value.is_null()) return f.default_value;
  if (!f.choices.empty()) return f.choices.front();
  switch (f.type) {
    case FieldType::Integer: return static_cast<int64_t>(f.min.value_or(1));
    case FieldType::Number: return f.min.value_or(0.5) + 0.5;
    case FieldType::Boolean: return false;
    case FieldType::Strings: return json::array({"q_proj"});
    case FieldType::Object: return json::object();
    case FieldType::Array: return json::array();
    case FieldType::String: return "x";
  }
  return nullptr;
}

void parse(const std::string& kind, const json& spec) {
  if (kind == "model_init") (void)wb::sft::parse_init_spec(spec);
  else if (kind == "model_import") (void)wb::sft::parse_import_spec(spec);
  else if (kind == "model_export") (void)wb::sft::parse_export_spec(spec);
  else if (kind == "eval") (void)wb::sft::parse_eval_spec(spec);
  else (void)wb::sft::parse_train_spec(kind, spec);
}

}  // namespace

TEST_CASE("sft: every declared field of every kind is read by its parser", "[sft][fields]") {
  REQUIRE(wb::sft::sft_job_fields().size() == 6);
  for (const auto* table : wb::sft::sft_job_fields()) {
    for (const auto& f : table->fields) {
      json spec = required_spec(table->kind);
      spec[f.name] = sample(f);
      INFO(table->kind << "." << f.name << " = " << spec[f.name].dump());
      try {
        parse(table->kind, spec);
      } catch (const wb::plugin::SpecError& e) {
        // Rules across fields may refuse the sample (tokenizer vs tokenizer_corpus); never as unknown.
        CHECK_THAT(e.what(), !Catch::Contains("unknown field"));
      }
    }
    json spec = required_spec(table->kind);
    spec["no_such_field"] = 1;
    CHECK_THROWS_WITH(parse(table->kind, spec), Catch::Contains("no_such_field"));
  }
}

TEST_CASE("sft: required fields and defaults come from the table", "[sft][fields]") {
  const auto* pre = wb::sft::sft_fields_of("pretrain");
  REQUIRE(pre);
  CHECK(pre->find("model")->is_required);
  CHECK(pre->find("lr")->default_value == 3e-3);
  CHECK(wb::sft::sft_fields_of("sft")->find("lr")->default_value == 1e-3);
  const wb::sft::TrainSpec s = wb::sft::parse_train_spec("pretrain", required_spec("pretrain"));
  CHECK(s.lr == 3e-3);
  CHECK(s.batch_size == pre->find("batch_size")->default_value.get<int64_t>());
  CHECK(s.context_length == pre->find("context_length")->default_value.get<int64_t>());
  CHECK(s.schedule == pre->find("schedule")->default_value.get<std::string>());
  const wb::sft::TrainSpec t = wb::sft::parse_train_spec("sft", required_spec("sft"));
  CHECK(t.lr == 1e-3);
  CHECK(t.method == "lora");
  CHECK(t.lora.r == wb::sft::kSftFields.find("rank")->default_value.get<int64_t>());
  CHECK_THROWS_WITH(wb::sft::parse_train_spec("sft", {{"dataset", "d"}}), Catch::Contains("model"));
  // A type the table does not allow is refused naming the field.
  CHECK_THROWS_WITH(wb::sft::parse_train_spec("sft", {{"model", "m"}, {"dataset", "d"}, {"schedule", "linear"}}),
                    Catch::Contains("schedule") && Catch::Contains("cosine"));
}

TEST_CASE("sft: GET /v1/job-kinds and wb train --help show the declared fields", "[sft][fields][integration]") {
  SftDaemon d;
  auto all = d.d.get("/v1/job-kinds");
  REQUIRE(all.status == 200);
  std::vector<std::string> kinds;
  for (const auto& k : all.body["job_kinds"]) kinds.push_back(k["kind"]);
  CHECK(kinds == std::vector<std::string>{"pretrain", "sft", "model_init", "model_import", "model_export", "eval"});
  auto one = d.d.get("/v1/job-kinds/pretrain");
  REQUIRE(one.status == 200);
  CHECK(one.body["plugin"] == "sft");
  CHECK(one.body["fields"] == wb::plugin::describe(wb::sft::kPretrainFields)["fields"]);
  CHECK(d.d.get("/v1/job-kinds/nope").status == 404);

  WbRun help = run_wb(d.socket(), "train sft --help");
  INFO(help.out);
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Catch::Contains("Spec fields of 'sft'"));
  for (const auto& f : wb::sft::kSftFields.fields) CHECK_THAT(help.out, Catch::Contains(f.name));
  CHECK_THAT(help.out, Catch::Contains("required") && Catch::Contains("0.001") && Catch::Contains("lora | full"));
  // Without a daemon the help still prints, saying where the fields come from.
  WbRun offline = run_wb("/nonexistent/wb.sock", "train pretrain --help");
  CHECK(offline.code == 0);
  CHECK_THAT(offline.out, Catch::Contains("--set") && Catch::Contains("ask a running workbenchd"));
  WbRun kinds_run = run_wb(d.socket(), "job kinds eval");
  CHECK(kinds_run.code == 0);
  CHECK_THAT(kinds_run.out, Catch::Contains("suite_dir") && Catch::Contains("auto | eval | train | all"));
}
