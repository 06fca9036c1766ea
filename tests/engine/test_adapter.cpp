// Adapters in the PEFT layout: save/load round trip (F32 and BF16), PEFT's ".default." key
// variant written by hand, and errors naming what does not fit.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <limits>

#include "runtime_test_util.h"
#include "wb/llama/adapter_io.h"
#include "wb/llama/file_io.h"
#include "wb/llama/model_io.h"
#include "wb/llama/safetensors.h"

using namespace wb::llama;
using namespace wb::llama::testing;

namespace {

LoraAdapter<float> trained_like(const LlamaConfig& c, uint64_t seed) {
  LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 16;
  lc.target_modules = {LoraModule::Q, LoraModule::K, LoraModule::V, LoraModule::O, LoraModule::Down};
  LoraAdapter<float> a = LoraAdapter<float>::init(c, lc, seed);
  Rng rng(seed);
  a.for_each([&](const std::string&, Tensor<float>& t) {
    for (auto& x : t.data) x = rng.normal();
  });
  return a;
}

}  // namespace

TEST_CASE("adapter save/load round trip in the PEFT layout", "[adapter]") {
  const LlamaConfig c = small_config();
  TempDir tmp("adapter");
  const LoraAdapter<float> a = trained_like(c, 71);
  save_adapter(tmp.path() / "a", a, "my-base");
  REQUIRE(std::filesystem::exists(tmp.path() / "a" / "adapter_config.json"));
  REQUIRE(std::filesystem::exists(tmp.path() / "a" / "adapter_model.safetensors"));
  const auto cfg = nlohmann::json::parse(read_text_file(tmp.path() / "a" / "adapter_config.json"));
  CHECK(cfg["peft_type"] == "LORA");
  CHECK(cfg["r"] == 4);
  CHECK(cfg["base_model_name_or_path"] == "my-base");
  SafetensorsFile f(tmp.path() / "a" / "adapter_model.safetensors");
  const auto& qa = f.info("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight");
  CHECK(qa.shape == std::vector<int64_t>{4, c.hidden_size});
  const auto& db = f.info("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight");
  CHECK(db.shape == std::vector<int64_t>{c.hidden_size, 4});

  const LoraAdapter<float> b = load_adapter(tmp.path() / "a", c);
  CHECK(b.config.r == 4);
  CHECK(b.config.scale() == Approx(4.0));
  size_t n = 0;
  b.for_each([&](const std::string& key, const Tensor<float>& t) {
    ++n;
    bool found = false;
    a.for_each([&](const std::string& k2, const Tensor<float>& t2) {
      if (k2 == key) {
        found = true;
        CHECK(t.shape == t2.shape);
        CHECK(t.data == t2.data);
      }
    });
    CHECK(found);
  });
  CHECK(n == 2 * 5 * 2);

  save_adapter(tmp.path() / "bf16", a, "", DType::BF16);
  const LoraAdapter<float> h = load_adapter(tmp.path() / "bf16", c);
  const float x = a.layers[0][0].A.data[3], y = h.layers[0][0].A.data[3];
  CHECK(y == Approx(x).epsilon(1e-2));
}

TEST_CASE("PEFT adapters with adapter-named keys load", "[adapter]") {
  const LlamaConfig c = small_config();
  TempDir tmp("adapter-default");
  std::filesystem::create_directories(tmp.path() / "p");
  std::ofstream(tmp.path() / "p" / "adapter_config.json")
      << R"({"peft_type":"LORA","task_type":"CAUSAL_LM","r":2,"lora_alpha":4,"lora_dropout":0.05,
            "target_modules":["v_proj"],"bias":"none","fan_in_fan_out":false,
            "base_model_name_or_path":"x","inference_mode":true,"revision":null})";
  SafetensorsWriter w;
  std::vector<float> A(static_cast<size_t>(2 * c.hidden_size), 0.5f), B(static_cast<size_t>(c.kv_dim() * 2), 0.25f);
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    const std::string p = "base_model.model.model.layers." + std::to_string(l) + ".self_attn.v_proj.";
    w.add_f32(p + "lora_A.default.weight", {2, c.hidden_size}, A);
    w.add_f32(p + "lora_B.default.weight", {c.kv_dim(), 2}, B);
  }
  w.write(tmp.path() / "p" / "adapter_model.safetensors");
  const LoraAdapter<float> a = load_adapter(tmp.path() / "p", c);
  CHECK(a.config.r == 2);
  const auto* pv = a.pair(1, LoraModule::V);
  REQUIRE(pv);
  CHECK(pv->A.data == A);
  CHECK(pv->B.data == B);
  CHECK(a.pair(0, LoraModule::Q) == nullptr);
}

TEST_CASE("adapters that do not fit the model are refused with a clear error", "[adapter]") {
  const LlamaConfig c = small_config();
  TempDir tmp("adapter-bad");
  save_adapter(tmp.path() / "a", trained_like(c, 72));
  LlamaConfig wider = c;
  wider.hidden_size = 64;
  wider.intermediate_size = 160;
  CHECK_THROWS_WITH(load_adapter(tmp.path() / "a", wider), Catch::Contains("does not fit"));
  LlamaConfig shallow = c;
  shallow.num_hidden_layers = 1;
  CHECK_THROWS(load_adapter(tmp.path() / "a", shallow));
  CHECK_THROWS_WITH(load_adapter(tmp.path() / "missing", c), Catch::Contains("missing"));
  std::filesystem::resize_file(tmp.path() / "a" / "adapter_model.safetensors", 100);
  CHECK_THROWS(load_adapter(tmp.path() / "a", c));
}

TEST_CASE("an adapter or a model whose weights hold NaN or infinity is refused on load, naming file and tensor", "[adapter]") {
  const LlamaConfig c = small_config();
  TempDir tmp("adapter-nan");
  // Every weight NaN (as a diverged run would leave it): loading used to succeed.
  LoraAdapter<float> a = trained_like(c, 73);
  a.for_each([](const std::string&, Tensor<float>& t) {
    for (auto& x : t.data) x = std::numeric_limits<float>::quiet_NaN();
  });
  save_adapter(tmp.path() / "nan", a, "base");
  CHECK_THROWS_WITH(load_adapter(tmp.path() / "nan", c),
                    Catch::Contains("adapter_model.safetensors") && Catch::Contains("non-finite") &&
                        Catch::Contains("lora_"));
  // One infinity among finite weights, in bf16.
  LoraAdapter<float> b = trained_like(c, 74);
  bool set = false;
  b.for_each([&](const std::string&, Tensor<float>& t) {
    if (!set) t.data[3] = std::numeric_limits<float>::infinity();
    set = true;
  });
  save_adapter(tmp.path() / "inf", b, "base", DType::BF16);
  CHECK_THROWS_WITH(load_adapter(tmp.path() / "inf", c), Catch::Contains("at element 3"));

  // A base model with one NaN weight.
  Model<float> m;
  m.config = c;
  m.weights = Weights<float>::zeros(c);
  m.weights.for_each([](const std::string&, Tensor<float>& t) {
    for (auto& x : t.data) x = 0.01f;
  });
  save_model(tmp.path() / "model", m);
  CHECK_NOTHROW(load_model<float>(tmp.path() / "model"));
  m.weights.for_each([](const std::string& name, Tensor<float>& t) {
    if (name.find("layers.1.mlp.up_proj") != std::string::npos) t.data[5] = std::nanf("");
  });
  save_model(tmp.path() / "model", m);
  CHECK_THROWS_WITH(load_model<float>(tmp.path() / "model"),
                    Catch::Contains("model") && Catch::Contains("up_proj") && Catch::Contains("non-finite"));
}
