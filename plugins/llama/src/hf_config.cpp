// HF config.json <-> LlamaConfig.
#include "wb/llama/hf_config.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "config_file.h"
#include "wb/json/parse.h"
#include "wb/json/reader.h"
#include "wb/llama/file_io.h"

namespace wb::llama {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& what) { throw HfConfigError("config.json: " + what); }

// An optional string field that, when present, must equal `expected`.
void expect_string(JsonReader& r, const char* field, const char* expected) {
  const auto v = r.optional_string(field, /*allow_empty=*/true);
  if (v && *v != expected) r.fail(field, "is \"" + *v + "\"; only \"" + expected + "\" is supported");
}

}  // namespace

LlamaConfig parse_hf_config(std::string_view json_text) {
  json j;
  try {
    j = parse_json(json_text);
  } catch (const JsonParseError& e) {
    fail(std::string("not valid JSON: ") + e.what());
  }
  LlamaConfig c;
  try {
    // The one strict reader (wb/json/reader.h) for every field read; an HF config carries many
    // fields this engine has no use for, so unread fields are not refused (no finish()).
    JsonReader r(j);
    expect_string(r, "model_type", "llama");
    expect_string(r, "hidden_act", "silu");
    if (const auto a = r.optional_strings("architectures", /*single_ok=*/false)) {
      if (std::find(a->begin(), a->end(), "LlamaForCausalLM") == a->end())
        r.fail("architectures", "is " + describe_json(j["architectures"]) + "; expected LlamaForCausalLM");
    }
    if (r.has("rope_scaling"))
      r.fail("rope_scaling", "is " + describe_json(j["rope_scaling"]) + "; rope scaling is not supported");
    if (r.boolean_or("attention_bias", false)) r.fail("attention_bias", "true is not supported");
    if (r.boolean_or("mlp_bias", false)) r.fail("mlp_bias", "true is not supported");

    c.hidden_size = r.integer("hidden_size");
    c.intermediate_size = r.integer("intermediate_size");
    c.num_hidden_layers = r.integer("num_hidden_layers");
    c.num_attention_heads = r.integer("num_attention_heads");
    c.num_key_value_heads = r.integer_or("num_key_value_heads", c.num_attention_heads);
    c.vocab_size = r.integer("vocab_size");
    c.max_position_embeddings = r.integer_or("max_position_embeddings", 2048);
    c.rms_norm_eps = r.number_or("rms_norm_eps", 1e-6);
    c.rope_theta = r.number_or("rope_theta", 10000.0);
    c.tie_word_embeddings = r.boolean_or("tie_word_embeddings", false);
    c.bos_token_id = r.integer_or("bos_token_id", 1);
    if (const json* e = r.find("eos_token_id"); e != nullptr && e->is_array()) {
      if (e->empty() || !(*e)[0].is_number_integer())
        r.fail("eos_token_id", "expected an integer or a non-empty list of integers, got " + describe_json(*e));
      c.eos_token_id = (*e)[0].get<int64_t>();
    } else {
      c.eos_token_id = r.integer_or("eos_token_id", 2);
    }
    c.pad_token_id = r.integer_or("pad_token_id", -1);
    if (auto d = r.optional_string("torch_dtype", /*allow_empty=*/true)) c.torch_dtype = *d;
  } catch (const JsonFieldError& e) {
    fail(e.what());
  }
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw HfConfigError(std::string("config.json: ") + e.what());
  }
  return c;
}

std::string hf_config_to_json(const LlamaConfig& c) {
  c.validate();
  json j = {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"rope_scaling", nullptr},
      {"initializer_range", 0.02},
      {"pretraining_tp", 1},
      {"use_cache", true},
      {"hidden_size", c.hidden_size},
      {"intermediate_size", c.intermediate_size},
      {"num_hidden_layers", c.num_hidden_layers},
      {"num_attention_heads", c.num_attention_heads},
      {"num_key_value_heads", c.num_key_value_heads},
      {"vocab_size", c.vocab_size},
      {"max_position_embeddings", c.max_position_embeddings},
      {"rms_norm_eps", c.rms_norm_eps},
      {"rope_theta", c.rope_theta},
      {"tie_word_embeddings", c.tie_word_embeddings},
      {"bos_token_id", c.bos_token_id},
      {"eos_token_id", c.eos_token_id},
      {"torch_dtype", c.torch_dtype},
  };
  j["pad_token_id"] = c.pad_token_id < 0 ? json(nullptr) : json(c.pad_token_id);
  return j.dump(2) + "\n";
}

LlamaConfig load_hf_config(const std::filesystem::path& path) {
  return detail::load_config_file<HfConfigError>(path, "config.json",
                                            [](const std::string& t) { return parse_hf_config(t); });
}

void save_hf_config(const LlamaConfig& config, const std::filesystem::path& path) {
  write_file_atomic(path, hf_config_to_json(config));
}

}  // namespace wb::llama
