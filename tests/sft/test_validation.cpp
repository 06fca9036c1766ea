// Integration: specs with bad fields are rejected at submission (400) with a message naming the
// field, and nothing is queued.
#include <fstream>

#include <catch2/catch.hpp>

#include "sft_fixture.h"

using namespace sfttest;

TEST_CASE("bad sft/pretrain/eval/model specs are rejected at submission naming the field", "[sft][integration]") {
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl");
  d.import_text("text", 0.0, 50);
  // A model without a tokenizer is enough for submission checks.
  d.run_job("model_init", {{"name", "base"}, {"preset", "tiny"}, {"config", tiny_config()}});
  const json good = {{"model", "base"}, {"dataset", "chat"}, {"output", "out1"}, {"rank", 4}, {"lr", 1e-3}};

  auto rejected = [&](const std::string& kind, const json& spec, const std::string& needle) {
    auto r = d.d.post("/v1/jobs", {{"kind", kind}, {"spec", spec}});
    INFO(kind << " " << spec.dump() << " -> " << r.text);
    CHECK(r.status == 400);
    CHECK(r.body["error"]["code"] == "invalid_request");
    CHECK_THAT(r.body["error"]["message"].get<std::string>(), Catch::Contains(needle));
  };
  json s = good;
  s["model"] = "nope";
  rejected("sft", s, "field 'model': unknown model 'nope'");
  s = good;
  s["rank"] = 0;
  rejected("sft", s, "field 'rank'");
  s = good;
  s["lr"] = -0.1;
  rejected("sft", s, "field 'lr'");
  s = good;
  s.erase("dataset");
  rejected("sft", s, "field 'dataset'");
  s = good;
  s["dataset"] = "missing";
  rejected("sft", s, "field 'dataset': unknown dataset 'missing'");
  s = good;
  s["dataset"] = "text";
  rejected("sft", s, "field 'dataset'");  // a prompt dataset for sft
  s = good;
  s["lrr"] = 1;
  rejected("sft", s, "field 'lrr': unknown field");
  s = good;
  s["method"] = "qlora";
  rejected("sft", s, "field 'method'");
  s = good;
  s["target_modules"] = {"q_proj", "x_proj"};
  rejected("sft", s, "field 'target_modules'");
  s = good;
  s["batch_size"] = "8";
  rejected("sft", s, "field 'batch_size'");
  s = good;
  s["output"] = "../escape";
  rejected("sft", s, "field 'output'");
  s = good;
  s["method"] = "full";
  rejected("sft", s, "field 'rank'");  // LoRA-only field with method full
  rejected("pretrain", {{"model", "base"}, {"dataset", "chat"}, {"output", "p"}}, "field 'dataset'");
  rejected("pretrain", {{"model", "base"}, {"dataset", "text"}, {"output", "base"}}, "field 'output': model 'base' already exists");
  rejected("eval", {{"model", "base"}}, "field 'dataset'");
  rejected("eval", {{"model", "base"}, {"dataset", "chat"}, {"adapter", "nope"}}, "field 'adapter'");
  rejected("model_init", {{"name", "m2"}, {"preset", "huge"}}, "field 'preset'");
  rejected("model_init", {{"name", "m2"}, {"preset", "tiny"}, {"tokenizer", "/no/such/tokenizer.model"}}, "field 'tokenizer'");
  rejected("model_import", {{"name", "m3"}, {"path", "/no/such/dir"}}, "field 'path'");
  // A path the plugin cannot even look at (too long for the file system) is still the client's
  // error: 400, not a 500 from the I/O failure.
  rejected("model_import", {{"name", "m3"}, {"path", "/" + std::string(5000, 'a')}}, "");
  rejected("model_export", {{"model", "base"}, {"out", "relative/dir"}}, "field 'out'");
  rejected("model_export", {{"model", "base"}, {"out", "/tmp/x"}, {"format", "onnx"}}, "field 'format'");

  // Only the model_init job was ever queued.
  CHECK(d.d.get("/v1/jobs").body["jobs"].size() == 1);
}

TEST_CASE("model_import checks the directory and registers a copy, a broken one fails naming the tensor", "[sft][integration]") {
  SftDaemon d;
  d.init_tiny("base");
  const std::filesystem::path src = d.d.get("/v1/models/base").body["path"].get<std::string>();
  const std::filesystem::path copy = d.d.tmp.path() / "hf-copy";
  std::filesystem::copy(src, copy);
  d.run_job("model_import", {{"name", "imported"}, {"path", copy.string()}});
  auto m = d.d.get("/v1/models/imported");
  REQUIRE(m.status == 200);
  CHECK(m.body["path"].get<std::string>() != copy.string());  // copied into the data dir
  CHECK(m.body["config"]["hidden_size"] == 64);
  CHECK(dir_bytes(m.body["path"].get<std::string>()) == dir_bytes(copy));

  // A config whose vocabulary disagrees with the tensors: the job fails naming a tensor.
  const std::filesystem::path bad = d.d.tmp.path() / "hf-bad";
  std::filesystem::copy(src, bad);
  json cfg = json::parse(std::ifstream(bad / "config.json"));
  cfg["intermediate_size"] = 180;
  std::ofstream(bad / "config.json") << cfg.dump();
  const int64_t id = d.submit("model_import", {{"name", "broken"}, {"path", bad.string()}});
  json j = d.wait_final(id);
  CHECK(j["state"] == "failed");
  CHECK_THAT(j["error"].get<std::string>(), Catch::Contains("mlp.down_proj.weight"));
  CHECK(d.d.get("/v1/models/broken").status == 404);
  CHECK_FALSE(std::filesystem::exists(d.data_dir() / "models" / "broken"));
}

TEST_CASE("an sft spec with batch_size 65536 on a tiny model is refused at submission naming the numbers", "[sft][integration][limits]") {
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl");
  d.run_job("model_init", {{"name", "base"}, {"preset", "tiny"}, {"config", tiny_config()}});
  const json spec = {{"model", "base"}, {"dataset", "chat"}, {"method", "full"}, {"batch_size", 65536},
                     {"context_length", 128}, {"max_steps", 1}};
  auto r = d.d.post("/v1/jobs", {{"kind", "sft"}, {"spec", spec}});
  INFO(r.text);
  CHECK(r.status == 507);
  CHECK(r.body["error"]["code"] == "out_of_memory");
  const std::string msg = r.body["error"]["message"];
  CHECK_THAT(msg, Catch::Contains("the job needs about") && Catch::Contains("GiB") && Catch::Contains("activations") &&
                      Catch::Contains("allows") && Catch::Contains("batch_size"));
  auto jobs = d.d.get("/v1/jobs").body["jobs"];
  for (auto& j : jobs) CHECK(j["kind"] != "sft");  // nothing queued
  // The same spec at a small batch fits and is accepted.
  json small = spec;
  small["batch_size"] = 2;
  CHECK(d.d.post("/v1/jobs", {{"kind", "sft"}, {"spec", small}}).status == 201);
}
