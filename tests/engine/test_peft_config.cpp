// PEFT LoRA adapters: adapter_config.json, tensor keys, whole adapter directories.
#include <catch2/catch.hpp>
#include <cmath>
#include <nlohmann/json.hpp>

#include "formats_test_util.h"
#include "wb/llama/peft_adapter.h"
#include "wb/llama/peft_config.h"
#include "wb/llama/safetensors.h"

using namespace wb::llama;
using nlohmann::json;

namespace {

// adapter_config.json as PEFT 0.10 writes it for a Llama LoRA (extra keys included).
const char* kPeftConfig = R"({
  "alpha_pattern": {},
  "auto_mapping": null,
  "base_model_name_or_path": "meta-llama/Llama-2-7b-hf",
  "bias": "none",
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layer_replication": null,
  "layers_pattern": null,
  "layers_to_transform": null,
  "loftq_config": {},
  "lora_alpha": 16,
  "lora_dropout": 0.05,
  "megatron_config": null,
  "megatron_core": "megatron.core",
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 8,
  "rank_pattern": {},
  "revision": null,
  "target_modules": ["v_proj", "q_proj"],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": false
})";

std::string error_of(const json& j) {
  try {
    parse_peft_config(j.dump());
  } catch (const PeftConfigError& e) {
    return e.what();
  }
  return "";
}

LoraTensor make(int64_t layer, LoraModule m, LoraMatrix ab, int64_t rows, int64_t cols, float base) {
  LoraTensor t{{layer, m, ab}, {rows, cols}, std::vector<float>(rows * cols)};
  for (size_t i = 0; i < t.data.size(); ++i) t.data[i] = base + 0.125f * static_cast<float>(i);
  return t;
}

}  // namespace

TEST_CASE("peft: reads PEFT's adapter_config.json", "[peft]") {
  const LoraConfig c = parse_peft_config(kPeftConfig);
  CHECK(c.r == 8);
  CHECK(c.lora_alpha == 16.0);
  CHECK(c.lora_dropout == Approx(0.05));
  CHECK(c.target_modules == std::vector<LoraModule>{LoraModule::Q, LoraModule::V});
  CHECK(c.base_model_name_or_path == "meta-llama/Llama-2-7b-hf");
  CHECK(c.inference_mode);
  CHECK_FALSE(c.use_rslora);
  CHECK(c.scale() == 2.0);
  LoraConfig rs = c;
  rs.use_rslora = true;
  CHECK(rs.scale() == Approx(16.0 / std::sqrt(8.0)));
  CHECK(c.targets(LoraModule::Q));
  CHECK_FALSE(c.targets(LoraModule::Gate));

  json all = json::parse(kPeftConfig);
  all["target_modules"] = "all-linear";
  CHECK(parse_peft_config(all.dump()).target_modules == all_lora_modules());
}

TEST_CASE("peft: write/read round trip", "[peft]") {
  LoraConfig c;
  c.r = 4;
  c.lora_alpha = 8;
  c.lora_dropout = 0.1;
  c.target_modules = {LoraModule::Down, LoraModule::Q, LoraModule::Gate};
  c.use_rslora = true;
  c.base_model_name_or_path = "tiny";
  const std::string text = peft_config_to_json(c);
  const json j = json::parse(text);
  CHECK(j["peft_type"] == "LORA");
  CHECK(j["task_type"] == "CAUSAL_LM");
  CHECK(j["bias"] == "none");
  CHECK(j["fan_in_fan_out"] == false);
  CHECK(j["inference_mode"] == true);
  CHECK(j["target_modules"] == json::array({"q_proj", "gate_proj", "down_proj"}));
  const LoraConfig back = parse_peft_config(text);
  CHECK(back.r == 4);
  CHECK(back.lora_alpha == 8.0);
  CHECK(back.lora_dropout == 0.1);
  CHECK(back.use_rslora);
  CHECK(back.base_model_name_or_path == "tiny");
  CHECK(back.target_modules == std::vector<LoraModule>{LoraModule::Q, LoraModule::Gate, LoraModule::Down});
}

TEST_CASE("peft: errors name the field", "[peft]") {
  const json base = json::parse(kPeftConfig);
  auto with = [&](const char* field, json value) {
    json j = base;
    j[field] = std::move(value);
    return error_of(j);
  };
  auto without = [&](const char* field) {
    json j = base;
    j.erase(field);
    return error_of(j);
  };
  CHECK(error_of(base).empty());
  CHECK_THAT(without("r"), Catch::Contains("'r'"));
  CHECK_THAT(without("lora_alpha"), Catch::Contains("'lora_alpha'"));
  CHECK_THAT(without("target_modules"), Catch::Contains("'target_modules'"));
  CHECK_THAT(with("r", "8"), Catch::Contains("field 'r': expected an integer, got \"8\""));
  CHECK_THAT(with("r", 0), Catch::Contains("'r'"));
  CHECK_THAT(with("lora_alpha", -1), Catch::Contains("'lora_alpha'"));
  CHECK_THAT(with("lora_dropout", 1.5), Catch::Contains("'lora_dropout'"));
  CHECK_THAT(with("peft_type", "IA3"), Catch::Contains("'peft_type'"));
  CHECK_THAT(with("task_type", "SEQ_CLS"), Catch::Contains("'task_type'"));
  CHECK_THAT(with("bias", "all"), Catch::Contains("'bias'"));
  CHECK_THAT(with("fan_in_fan_out", true), Catch::Contains("'fan_in_fan_out'"));
  CHECK_THAT(with("use_dora", true), Catch::Contains("'use_dora'"));
  CHECK_THAT(with("modules_to_save", json::array({"lm_head"})), Catch::Contains("'modules_to_save'"));
  CHECK_THAT(with("layers_to_transform", json::array({0})), Catch::Contains("'layers_to_transform'"));
  CHECK_THAT(with("rank_pattern", {{"q_proj", 4}}), Catch::Contains("'rank_pattern'"));
  CHECK_THAT(with("target_modules", json::array({"q_proj", "lm_head"})),
             Catch::Contains("field 'target_modules[1]'") && Catch::Contains("lm_head"));
  CHECK_THAT(with("target_modules", json::array({"q_proj", "q_proj"})), Catch::Contains("twice"));
  CHECK_THAT(with("target_modules", json::array()), Catch::Contains("empty"));
  CHECK_THAT(with("target_modules", ".*proj"), Catch::Contains("'target_modules'"));
  CHECK_THAT(with("use_rslora", "no"), Catch::Contains("'use_rslora'"));
  CHECK_THROWS_AS(parse_peft_config("[]"), PeftConfigError);
  CHECK_THROWS_AS(parse_peft_config("{"), PeftConfigError);
}

TEST_CASE("peft: tensor keys", "[peft]") {
  const LoraKey k{12, LoraModule::Gate, LoraMatrix::B};
  CHECK(lora_tensor_key(k) == "base_model.model.model.layers.12.mlp.gate_proj.lora_B.weight");
  CHECK(lora_tensor_key({0, LoraModule::Q, LoraMatrix::A}) ==
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  for (int64_t layer : {0, 7, 31}) {
    for (LoraModule m : all_lora_modules()) {
      for (LoraMatrix ab : {LoraMatrix::A, LoraMatrix::B}) {
        const LoraKey key{layer, m, ab};
        CHECK(parse_lora_tensor_key(lora_tensor_key(key)) == key);
      }
    }
  }
  // With an adapter name, and without the base_model.model. prefix.
  CHECK(parse_lora_tensor_key("base_model.model.model.layers.3.self_attn.v_proj.lora_A.default.weight") ==
        LoraKey{3, LoraModule::V, LoraMatrix::A});
  CHECK(parse_lora_tensor_key("model.layers.5.mlp.down_proj.lora_B.weight") ==
        LoraKey{5, LoraModule::Down, LoraMatrix::B});
  for (const char* bad :
       {"base_model.model.model.layers.3.mlp.q_proj.lora_A.weight",         // wrong parent
        "base_model.model.model.layers.x.self_attn.q_proj.lora_A.weight",   // not a number
        "base_model.model.model.layers.-1.self_attn.q_proj.lora_A.weight",  // negative
        "base_model.model.model.layers.3.self_attn.q.lora_A.weight",        // short module name
        "base_model.model.model.layers.3.self_attn.q_proj.lora_C.weight",
        "base_model.model.model.layers.3.self_attn.q_proj.lora_A.bias",
        "base_model.model.model.layers.3.self_attn.q_proj.weight",
        "base_model.model.lm_head.weight", "", "model.layers.3.self_attn.q_proj.lora_A..weight"}) {
    INFO(bad);
    CHECK_FALSE(parse_lora_tensor_key(bad).has_value());
  }
  CHECK(lora_module_from_name("up") == LoraModule::Up);
  CHECK(lora_module_from_name("up_proj") == LoraModule::Up);
  CHECK_FALSE(lora_module_from_name("lm_head").has_value());
  CHECK(lora_module_parent(LoraModule::O) == "self_attn");
  CHECK(lora_module_parent(LoraModule::Up) == "mlp");
}

TEST_CASE("peft: adapter directory round trip and validation", "[peft]") {
  wb::test::FormatsScratch dir;
  PeftAdapter a;
  a.config.r = 2;
  a.config.lora_alpha = 4;
  a.config.target_modules = {LoraModule::Q, LoraModule::Down};
  const int64_t dim = 6, hidden = 10;
  for (int64_t layer : {1, 0}) {
    a.tensors.push_back(make(layer, LoraModule::Q, LoraMatrix::A, 2, dim, 0.5f));
    a.tensors.push_back(make(layer, LoraModule::Q, LoraMatrix::B, dim, 2, -1.0f));
    a.tensors.push_back(make(layer, LoraModule::Down, LoraMatrix::A, 2, hidden, 2.0f));
    a.tensors.push_back(make(layer, LoraModule::Down, LoraMatrix::B, dim, 2, 0.0f));
  }
  save_peft_adapter(dir / "lora", a);
  CHECK(std::filesystem::exists(dir / "lora" / "adapter_config.json"));
  SafetensorsFile st(dir / "lora" / "adapter_model.safetensors");
  CHECK(st.contains("base_model.model.model.layers.1.mlp.down_proj.lora_A.weight"));
  CHECK(st.info("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight").shape ==
        std::vector<int64_t>{dim, 2});

  const PeftAdapter b = load_peft_adapter(dir / "lora");
  CHECK(b.config.r == 2);
  CHECK(b.config.scale() == 2.0);
  REQUIRE(b.tensors.size() == 8);
  CHECK(b.tensors.front().key == LoraKey{0, LoraModule::Q, LoraMatrix::A});  // sorted
  for (const auto& t : a.tensors) {
    const LoraTensor* u = b.find(t.key);
    REQUIRE(u != nullptr);
    CHECK(u->shape == t.shape);
    CHECK(u->data == t.data);
  }
  CHECK(b.find({5, LoraModule::Q, LoraMatrix::A}) == nullptr);

  // bf16 storage converts on save and load.
  save_peft_adapter(dir / "lora16", a, DType::BF16);
  const PeftAdapter c = load_peft_adapter(dir / "lora16");
  CHECK(c.find({1, LoraModule::Q, LoraMatrix::A})->data == a.find({1, LoraModule::Q, LoraMatrix::A})->data);

  // Keys with an adapter name load too.
  {
    SafetensorsWriter w;
    const auto& q_a = *a.find({0, LoraModule::Q, LoraMatrix::A});
    const auto& q_b = *a.find({0, LoraModule::Q, LoraMatrix::B});
    w.add_f32("base_model.model.model.layers.0.self_attn.q_proj.lora_A.default.weight", q_a.shape, q_a.data);
    w.add_f32("base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight", q_b.shape, q_b.data);
    std::filesystem::create_directories(dir / "named");
    w.write(dir / "named" / "adapter_model.safetensors");
    save_peft_config(a.config, dir / "named" / "adapter_config.json");
    CHECK(load_peft_adapter(dir / "named").tensors.size() == 2);
  }

  auto save_error = [&](PeftAdapter bad) {
    try {
      save_peft_adapter(dir / "bad", bad);
    } catch (const PeftConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  PeftAdapter missing_b = a;
  missing_b.tensors.erase(missing_b.tensors.begin() + 1);  // layer 1 q B
  CHECK_THAT(save_error(missing_b),
             Catch::Contains("layers.1.self_attn.q_proj.lora_B.weight' is missing"));
  PeftAdapter wrong_rank = a;
  wrong_rank.tensors[0] = make(1, LoraModule::Q, LoraMatrix::A, 3, dim, 0.0f);
  CHECK_THAT(save_error(wrong_rank), Catch::Contains("rank dimension 3"));
  PeftAdapter untargeted = a;
  untargeted.tensors.push_back(make(0, LoraModule::V, LoraMatrix::A, 2, dim, 0.0f));
  CHECK_THAT(save_error(untargeted), Catch::Contains("v_proj"));
  CHECK_FALSE(std::filesystem::exists(dir / "bad"));  // nothing written on error

  // A stray tensor in the file is refused with its name.
  {
    SafetensorsWriter w;
    const float v[] = {1.0f};
    w.add_f32("base_model.model.lm_head.weight", {1, 1}, v);
    std::filesystem::create_directories(dir / "stray");
    w.write(dir / "stray" / "adapter_model.safetensors");
    save_peft_config(a.config, dir / "stray" / "adapter_config.json");
    CHECK_THROWS_WITH(load_peft_adapter(dir / "stray"), Catch::Contains("lm_head.weight"));
  }
  CHECK_THROWS_AS(load_peft_adapter(dir / "nowhere"), PeftConfigError);
}
