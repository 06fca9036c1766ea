// HF config.json <-> LlamaConfig, LlamaConfig::validate/parameter_count, presets.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "formats_test_util.h"
#include "wb/llama/hf_config.h"
#include "wb/llama/presets.h"

using namespace wb::llama;
using nlohmann::json;

namespace {

// The config.json HF ships with meta-llama/Llama-2-7b-hf (transformers 4.31).
const char* kLlama2_7b = R"({
  "architectures": ["LlamaForCausalLM"],
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 11008,
  "max_position_embeddings": 4096,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 32,
  "pad_token_id": 0,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": null,
  "tie_word_embeddings": false,
  "torch_dtype": "float16",
  "transformers_version": "4.31.0.dev0",
  "use_cache": true,
  "vocab_size": 32000
})";

std::string error_of(const json& j) {
  try {
    parse_hf_config(j.dump());
  } catch (const HfConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("hf_config: reads Llama 2 7B's config.json", "[hf_config]") {
  const LlamaConfig c = parse_hf_config(kLlama2_7b);
  CHECK(c.hidden_size == 4096);
  CHECK(c.intermediate_size == 11008);
  CHECK(c.num_hidden_layers == 32);
  CHECK(c.num_attention_heads == 32);
  CHECK(c.num_key_value_heads == 32);
  CHECK(c.vocab_size == 32000);
  CHECK(c.max_position_embeddings == 4096);
  CHECK(c.rms_norm_eps == 1e-5);
  CHECK(c.rope_theta == 10000.0);
  CHECK_FALSE(c.tie_word_embeddings);
  CHECK(c.bos_token_id == 1);
  CHECK(c.eos_token_id == 2);
  CHECK(c.pad_token_id == 0);
  CHECK(c.torch_dtype == "float16");
  CHECK(c.head_dim() == 128);
  // Llama 2 7B has 6,738,415,616 parameters.
  CHECK(c.parameter_count() == 6738415616LL);
}

TEST_CASE("hf_config: defaults and write/read round trip", "[hf_config]") {
  const json minimal = {{"hidden_size", 64},        {"intermediate_size", 172},
                        {"num_hidden_layers", 2},   {"num_attention_heads", 4},
                        {"vocab_size", 100}};
  const LlamaConfig c = parse_hf_config(minimal.dump());
  CHECK(c.num_key_value_heads == 4);  // defaults to num_attention_heads
  CHECK(c.max_position_embeddings == 2048);
  CHECK(c.rms_norm_eps == 1e-6);
  CHECK(c.pad_token_id == -1);
  CHECK(c.torch_dtype == "float32");

  LlamaConfig g = c;
  g.num_key_value_heads = 2;
  g.tie_word_embeddings = true;
  g.rope_theta = 500000.0;
  g.pad_token_id = 3;
  g.torch_dtype = "bfloat16";
  const std::string text = hf_config_to_json(g);
  const json j = json::parse(text);
  CHECK(j["architectures"] == json::array({"LlamaForCausalLM"}));
  CHECK(j["model_type"] == "llama");
  CHECK(j["hidden_act"] == "silu");
  CHECK(j["num_key_value_heads"] == 2);
  const LlamaConfig back = parse_hf_config(text);
  CHECK(back.hidden_size == g.hidden_size);
  CHECK(back.intermediate_size == g.intermediate_size);
  CHECK(back.num_hidden_layers == g.num_hidden_layers);
  CHECK(back.num_attention_heads == g.num_attention_heads);
  CHECK(back.num_key_value_heads == 2);
  CHECK(back.vocab_size == g.vocab_size);
  CHECK(back.max_position_embeddings == g.max_position_embeddings);
  CHECK(back.rms_norm_eps == g.rms_norm_eps);
  CHECK(back.rope_theta == 500000.0);
  CHECK(back.tie_word_embeddings);
  CHECK(back.pad_token_id == 3);
  CHECK(back.torch_dtype == "bfloat16");

  // eos as a list takes the first entry; a null pad is "none".
  json l = minimal;
  l["eos_token_id"] = {2, 7};
  l["pad_token_id"] = nullptr;
  CHECK(parse_hf_config(l.dump()).eos_token_id == 2);
  CHECK(parse_hf_config(l.dump()).pad_token_id == -1);
}

TEST_CASE("hf_config: errors name the field", "[hf_config]") {
  const json base = json::parse(kLlama2_7b);
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
  CHECK_THAT(without("hidden_size"), Catch::Contains("field 'hidden_size': is required"));
  CHECK_THAT(without("vocab_size"), Catch::Contains("'vocab_size'"));
  CHECK_THAT(with("hidden_size", "4096"), Catch::Contains("field 'hidden_size': expected an integer, got \"4096\""));
  CHECK_THAT(with("num_hidden_layers", 2.5), Catch::Contains("'num_hidden_layers'"));
  CHECK_THAT(with("rms_norm_eps", "small"), Catch::Contains("field 'rms_norm_eps': expected a number, got \"small\""));
  CHECK_THAT(with("tie_word_embeddings", 1), Catch::Contains("'tie_word_embeddings'"));
  CHECK_THAT(with("model_type", "mistral"), Catch::Contains("'model_type'"));
  CHECK_THAT(with("hidden_act", "gelu"), Catch::Contains("'hidden_act'"));
  CHECK_THAT(with("architectures", json::array({"GPT2LMHeadModel"})), Catch::Contains("'architectures'"));
  CHECK_THAT(with("rope_scaling", {{"type", "linear"}, {"factor", 2.0}}), Catch::Contains("'rope_scaling'"));
  CHECK_THAT(with("attention_bias", true), Catch::Contains("'attention_bias'"));
  CHECK_THAT(with("torch_dtype", "float64"), Catch::Contains("torch_dtype"));
  CHECK_THAT(with("num_attention_heads", 30), Catch::Contains("num_attention_heads"));
  CHECK_THAT(with("num_key_value_heads", 5), Catch::Contains("num_key_value_heads"));
  CHECK_THAT(with("hidden_size", 0), Catch::Contains("hidden_size must be positive"));
  CHECK_THAT(with("bos_token_id", 32000), Catch::Contains("bos_token_id"));
  CHECK_THAT(error_of(json::array()), Catch::Contains("expected a JSON object, got []"));
  CHECK_THROWS_AS(parse_hf_config("{\"hidden_size\": "), HfConfigError);
  CHECK(error_of(base).empty());
}

TEST_CASE("hf_config: load from a model directory, save atomically", "[hf_config]") {
  wb::test::FormatsScratch dir;
  const LlamaConfig tiny = preset_config("tiny");
  save_hf_config(tiny, dir / "config.json");
  const LlamaConfig a = load_hf_config(dir.path());
  const LlamaConfig b = load_hf_config(dir / "config.json");
  CHECK(a.hidden_size == tiny.hidden_size);
  CHECK(b.num_hidden_layers == tiny.num_hidden_layers);
  CHECK(a.tie_word_embeddings == tiny.tie_word_embeddings);
  try {
    load_hf_config(dir / "missing");
    FAIL("expected an error");
  } catch (const HfConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("missing"));
  }
  wb::test::write_file_text(dir / "bad.json", R"({"hidden_size": "x"})");
  try {
    load_hf_config(dir / "bad.json");
    FAIL("expected an error");
  } catch (const HfConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("bad.json") && Catch::Contains("hidden_size"));
  }
  LlamaConfig invalid = tiny;
  invalid.num_attention_heads = 0;
  CHECK_THROWS_AS(save_hf_config(invalid, dir / "config.json"), std::invalid_argument);
  CHECK(load_hf_config(dir.path()).num_attention_heads == tiny.num_attention_heads);  // untouched
}

TEST_CASE("presets: sizes from the brief, all valid", "[hf_config][presets]") {
  CHECK(preset_names() == std::vector<std::string>{"tiny", "15m", "110m", "7b"});
  for (const auto& name : preset_names()) {
    INFO(name);
    const LlamaConfig c = preset_config(name);
    CHECK_NOTHROW(c.validate());
    CHECK(parse_hf_config(hf_config_to_json(c)).hidden_size == c.hidden_size);
  }
  const LlamaConfig m15 = preset_config("15m");
  CHECK(m15.hidden_size == 288);
  CHECK(m15.num_hidden_layers == 6);
  CHECK(m15.num_attention_heads == 6);
  CHECK(m15.intermediate_size == 768);
  CHECK(m15.vocab_size == 32000);
  CHECK(m15.max_position_embeddings == 256);
  CHECK(m15.tie_word_embeddings);
  // llama2.c's stories15M: 15,191,712 parameters (tied).
  CHECK(m15.parameter_count() == 15191712);
  const LlamaConfig m110 = preset_config("110m");
  CHECK(m110.hidden_size == 768);
  CHECK(m110.num_hidden_layers == 12);
  CHECK(m110.intermediate_size == 2048);
  CHECK(m110.max_position_embeddings == 1024);
  CHECK_FALSE(m110.tie_word_embeddings);
  const LlamaConfig b7 = preset_config("7b");
  CHECK(b7.parameter_count() == 6738415616LL);
  const LlamaConfig tiny = preset_config("tiny");
  CHECK(tiny.hidden_size >= 64);
  CHECK(tiny.hidden_size <= 128);
  CHECK(tiny.num_hidden_layers >= 2);
  CHECK(tiny.num_hidden_layers <= 4);
  CHECK_THROWS_WITH(preset_config("13b"), Catch::Contains("13b") && Catch::Contains("tiny"));
}

TEST_CASE("LlamaConfig: parameter_count by hand for GQA and tied/untied", "[hf_config]") {
  LlamaConfig c;
  c.hidden_size = 8;
  c.intermediate_size = 12;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;  // kv_dim 4
  c.vocab_size = 10;
  c.max_position_embeddings = 16;
  c.validate();
  // per layer: q 64 + k 32 + v 32 + o 64 + mlp 3*96 + norms 16 = 496
  CHECK(c.parameter_count() == 10 * 8 + 2 * 496 + 8 + 10 * 8);
  c.tie_word_embeddings = true;
  CHECK(c.parameter_count() == 10 * 8 + 2 * 496 + 8);
}
