// Integration: LoRA and full SFT from the same model and data both lower held-out loss; LoRA
// leaves the base weights bit-identical and yields an adapter, full yields a new model.
#include <catch2/catch.hpp>

#include "sft_fixture.h"

using namespace sfttest;
namespace fs = std::filesystem;

TEST_CASE("LoRA and full SFT on the same data both learn, LoRA leaves base weights bit-identical", "[sft][integration]") {
  SftDaemon d;
  d.import_sft("chat", "sft_train.jsonl", 0.2);
  d.init_tiny("base");
  const fs::path base_dir = d.d.get("/v1/models/base").body["path"].get<std::string>();
  const std::string base_bytes = dir_bytes(base_dir);

  const json common = {{"model", "base"}, {"dataset", "chat"}, {"batch_size", 4}, {"context_length", 128},
                       {"max_steps", 25}, {"seed", 5}, {"eval_batches", 4}};
  json lora_spec = common;
  lora_spec.update({{"method", "lora"}, {"rank", 4}, {"output", "as-lora"}, {"lr", 1e-2}, {"target_modules", {"q_proj", "v_proj", "o_proj", "down_proj"}}});
  json full_spec = common;
  full_spec.update({{"method", "full"}, {"output", "as-full"}, {"lr", 3e-3}});

  json lora = d.run_job("sft", lora_spec);
  json full = d.run_job("sft", full_spec);
  for (const json& j : {lora, full}) {
    auto ev = d.metric(j["id"], "eval_loss");
    INFO(j["spec"].dump());
    REQUIRE(ev.size() >= 2);
    CHECK(ev.back().second < ev.front().second - 0.3);
  }
  CHECK(dir_bytes(base_dir) == base_bytes);

  auto adapter = d.d.get("/v1/adapters");
  bool found = false;
  for (auto& a : adapter.body["adapters"])
    if (a["name"] == "as-lora") {
      found = true;
      CHECK(a["rank"] == 4);
      CHECK(a["target_modules"].size() == 4);
    }
  CHECK(found);
  auto fm = d.d.get("/v1/models/as-full");
  REQUIRE(fm.status == 200);
  const fs::path full_dir = fm.body["path"].get<std::string>();
  CHECK(fs::exists(full_dir / "tokenizer.model"));
  CHECK(dir_bytes(full_dir) != base_bytes);  // full SFT changed the weights themselves
  CHECK(d.d.get("/v1/models/as-lora").status == 404);
}
