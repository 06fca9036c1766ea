// HF config.json <-> LlamaConfig.
#include "wb/llama/hf_config.h"

#include <nlohmann/json.hpp>

#include "config_file.h"
#include "wb/llama/file_io.h"

namespace wb::llama {

using nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& what) { throw HfConfigError("config.json: " + what); }

const json* find(const json& j, const char* field) {
  auto it = j.find(field);
  return it == j.end() ? nullptr : &*it;
}

int64_t get_int(const json& j, const char* field, std::optional<int64_t> fallback) {
  const json* v = find(j, field);
  if (v == nullptr || (v->is_null() && fallback)) {
    if (!fallback) fail(std::string("missing required field '") + field + "'");
    return *fallback;
  }
  if (!v->is_number_integer()) {
    fail(std::string("field '") + field + "' must be an integer, got " + v->dump());
  }
  if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    fail(std::string("field '") + field + "' is too large");
  }
  return v->get<int64_t>();
}

double get_double(const json& j, const char* field, double fallback) {
  const json* v = find(j, field);
  if (v == nullptr) return fallback;
  if (!v->is_number()) fail(std::string("field '") + field + "' must be a number, got " + v->dump());
  return v->get<double>();
}

bool get_bool(const json& j, const char* field, bool fallback) {
  const json* v = find(j, field);
  if (v == nullptr) return fallback;
  if (!v->is_boolean()) fail(std::string("field '") + field + "' must be true or false, got " + v->dump());
  return v->get<bool>();
}

// An optional string field that, when present, must equal `expected`.
void expect_string(const json& j, const char* field, const char* expected) {
  const json* v = find(j, field);
  if (v == nullptr) return;
  if (!v->is_string()) fail(std::string("field '") + field + "' must be a string, got " + v->dump());
  if (v->get<std::string>() != expected) {
    fail(std::string("field '") + field + "' is " + v->dump() + "; only \"" + expected +
         "\" is supported");
  }
}

}  // namespace

LlamaConfig parse_hf_config(std::string_view json_text) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    fail(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail("not a JSON object");

  expect_string(j, "model_type", "llama");
  expect_string(j, "hidden_act", "silu");
  if (const json* a = find(j, "architectures"); a != nullptr && !a->is_null()) {
    if (!a->is_array()) fail("field 'architectures' must be a list of strings");
    bool llama = false;
    for (const auto& s : *a) {
      if (!s.is_string()) fail("field 'architectures' must be a list of strings");
      if (s.get<std::string>() == "LlamaForCausalLM") llama = true;
    }
    if (!llama) fail("field 'architectures' is " + a->dump() + "; expected LlamaForCausalLM");
  }
  if (const json* rs = find(j, "rope_scaling"); rs != nullptr && !rs->is_null()) {
    fail("field 'rope_scaling' is " + rs->dump() + "; rope scaling is not supported");
  }
  if (get_bool(j, "attention_bias", false)) fail("field 'attention_bias' true is not supported");
  if (get_bool(j, "mlp_bias", false)) fail("field 'mlp_bias' true is not supported");

  LlamaConfig c;
  c.hidden_size = get_int(j, "hidden_size", std::nullopt);
  c.intermediate_size = get_int(j, "intermediate_size", std::nullopt);
  c.num_hidden_layers = get_int(j, "num_hidden_layers", std::nullopt);
  c.num_attention_heads = get_int(j, "num_attention_heads", std::nullopt);
  c.num_key_value_heads = get_int(j, "num_key_value_heads", c.num_attention_heads);
  c.vocab_size = get_int(j, "vocab_size", std::nullopt);
  c.max_position_embeddings = get_int(j, "max_position_embeddings", 2048);
  c.rms_norm_eps = get_double(j, "rms_norm_eps", 1e-6);
  c.rope_theta = get_double(j, "rope_theta", 10000.0);
  c.tie_word_embeddings = get_bool(j, "tie_word_embeddings", false);
  c.bos_token_id = get_int(j, "bos_token_id", 1);
  if (const json* e = find(j, "eos_token_id"); e != nullptr && e->is_array()) {
    if (e->empty() || !(*e)[0].is_number_integer()) {
      fail("field 'eos_token_id' must be an integer or a non-empty list of integers");
    }
    c.eos_token_id = (*e)[0].get<int64_t>();
  } else {
    c.eos_token_id = get_int(j, "eos_token_id", 2);
  }
  c.pad_token_id = get_int(j, "pad_token_id", -1);
  if (const json* d = find(j, "torch_dtype"); d != nullptr && !d->is_null()) {
    if (!d->is_string()) fail("field 'torch_dtype' must be a string, got " + d->dump());
    c.torch_dtype = d->get<std::string>();
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
