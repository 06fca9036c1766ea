// PEFT adapter_config.json <-> LoraConfig, and LoRA tensor key names.
#include "wb/llama/peft_config.h"

#include "wb/json/parse.h"
#include "wb/json/reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "config_file.h"
#include "wb/llama/file_io.h"

namespace wb::llama {

using nlohmann::json;

namespace {

struct ModuleInfo {
  LoraModule module;
  const char* name;
  const char* short_name;
  const char* parent;
};

constexpr ModuleInfo kModules[] = {
    {LoraModule::Q, "q_proj", "q", "self_attn"},      {LoraModule::K, "k_proj", "k", "self_attn"},
    {LoraModule::V, "v_proj", "v", "self_attn"},      {LoraModule::O, "o_proj", "o", "self_attn"},
    {LoraModule::Gate, "gate_proj", "gate", "mlp"},   {LoraModule::Up, "up_proj", "up", "mlp"},
    {LoraModule::Down, "down_proj", "down", "mlp"},
};

const ModuleInfo& info(LoraModule m) { return kModules[static_cast<int>(m)]; }

[[noreturn]] void fail(const std::string& what) {
  throw PeftConfigError("adapter_config.json: " + what);
}

}  // namespace

const std::vector<LoraModule>& all_lora_modules() {
  static const std::vector<LoraModule> all = {LoraModule::Q,    LoraModule::K,  LoraModule::V,
                                              LoraModule::O,    LoraModule::Gate, LoraModule::Up,
                                              LoraModule::Down};
  return all;
}

std::string_view lora_module_name(LoraModule m) { return info(m).name; }
std::string_view lora_module_parent(LoraModule m) { return info(m).parent; }

std::optional<LoraModule> lora_module_from_name(std::string_view name) {
  for (const auto& m : kModules) {
    if (name == m.name || name == m.short_name) return m.module;
  }
  return std::nullopt;
}

double LoraConfig::scale() const {
  return use_rslora ? lora_alpha / std::sqrt(static_cast<double>(r))
                    : lora_alpha / static_cast<double>(r);
}

bool LoraConfig::targets(LoraModule m) const {
  return std::find(target_modules.begin(), target_modules.end(), m) != target_modules.end();
}

void LoraConfig::validate() const {
  if (r < 1) fail("'r' must be at least 1, got " + std::to_string(r));
  if (!(lora_alpha > 0.0)) fail("'lora_alpha' must be positive");
  if (!(lora_dropout >= 0.0 && lora_dropout < 1.0)) fail("'lora_dropout' must be in [0, 1)");
  if (target_modules.empty()) fail("'target_modules' is empty");
  for (size_t i = 0; i < target_modules.size(); ++i) {
    for (size_t k = 0; k < i; ++k) {
      if (target_modules[i] == target_modules[k]) {
        fail("'target_modules' lists " + std::string(lora_module_name(target_modules[i])) +
             " twice");
      }
    }
  }
}

namespace {

const json* find(const json& j, const char* field) {
  auto it = j.find(field);
  return it == j.end() ? nullptr : &*it;
}

// A field whose only supported value is "absent, null, false or empty".
void refuse_if_set(const json& j, const char* field) {
  const json* v = find(j, field);
  if (v == nullptr || v->is_null()) return;
  if (v->is_boolean() && !v->get<bool>()) return;
  if ((v->is_array() || v->is_object() || v->is_string()) && v->empty()) return;
  fail(std::string("'") + field + "' = " + v->dump() + " is not supported");
}

void expect_string(const json& j, const char* field, const char* expected) {
  const json* v = find(j, field);
  if (v == nullptr || v->is_null()) return;
  if (!v->is_string() || v->get<std::string>() != expected) {
    fail(std::string("'") + field + "' is " + v->dump() + "; only \"" + expected +
         "\" is supported");
  }
}

}  // namespace

LoraConfig parse_peft_config(std::string_view json_text) {
  json j;
  try {
    j = parse_json(json_text);
  } catch (const JsonParseError& e) {
    fail(std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail("not a JSON object");

  expect_string(j, "peft_type", "LORA");
  expect_string(j, "task_type", "CAUSAL_LM");
  expect_string(j, "bias", "none");
  for (const char* f : {"fan_in_fan_out", "use_dora", "layers_to_transform", "modules_to_save",
                        "rank_pattern", "alpha_pattern"}) {
    refuse_if_set(j, f);
  }

  LoraConfig c;
  try {
    // The one strict reader (wb/json/reader.h) for the typed fields; PEFT writes many more fields
    // than these, so unread ones are not refused (no finish()).
    JsonReader r(j);
    c.r = r.integer("r");
    c.lora_alpha = r.number("lora_alpha");
    c.lora_dropout = r.number_or("lora_dropout", c.lora_dropout);
    c.use_rslora = r.boolean_or("use_rslora", c.use_rslora);
    c.base_model_name_or_path = r.string_or("base_model_name_or_path", c.base_model_name_or_path, /*allow_empty=*/true);
    c.inference_mode = r.boolean_or("inference_mode", c.inference_mode);

    const json* tm = r.find("target_modules");
    if (tm == nullptr || tm->is_null()) r.fail("target_modules", "is required");
    c.target_modules.clear();
    if (tm->is_string()) {
      if (tm->get<std::string>() != "all-linear")
        r.fail("target_modules", "string " + tm->dump() + " is not supported (use a list of module names or \"all-linear\")");
      c.target_modules = all_lora_modules();
    } else if (tm->is_array()) {
      for (size_t i = 0; i < tm->size(); ++i) {
        const json& m = (*tm)[i];
        const std::string at = "target_modules[" + std::to_string(i) + "]";
        if (!m.is_string()) r.fail(at, "expected a string, got " + describe_json(m));
        auto mod = lora_module_from_name(m.get<std::string>());
        if (!mod)
          r.fail(at, m.dump() + " is not one of q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj");
        c.target_modules.push_back(*mod);
      }
    } else {
      r.fail("target_modules", "expected a list of module names, got " + describe_json(*tm));
    }
  } catch (const JsonFieldError& e) {
    fail(e.what());
  }
  std::sort(c.target_modules.begin(), c.target_modules.end());
  c.validate();
  return c;
}

std::string peft_config_to_json(const LoraConfig& c) {
  c.validate();
  std::vector<LoraModule> mods = c.target_modules;
  std::sort(mods.begin(), mods.end());
  json names = json::array();
  for (LoraModule m : mods) names.push_back(std::string(lora_module_name(m)));
  json j = {
      {"peft_type", "LORA"},
      {"task_type", "CAUSAL_LM"},
      {"r", c.r},
      {"lora_alpha", c.lora_alpha},
      {"lora_dropout", c.lora_dropout},
      {"target_modules", names},
      {"bias", "none"},
      {"fan_in_fan_out", false},
      {"base_model_name_or_path", c.base_model_name_or_path},
      {"inference_mode", c.inference_mode},
      {"use_rslora", c.use_rslora},
      {"modules_to_save", nullptr},
  };
  return j.dump(2) + "\n";
}

LoraConfig load_peft_config(const std::filesystem::path& path) {
  return detail::load_config_file<PeftConfigError>(path, "adapter_config.json",
                                            [](const std::string& t) { return parse_peft_config(t); });
}

void save_peft_config(const LoraConfig& config, const std::filesystem::path& path) {
  write_file_atomic(path, peft_config_to_json(config));
}

// ---- tensor keys ---------------------------------------------------------------------------

std::string lora_tensor_key(const LoraKey& key) {
  return "base_model.model.model.layers." + std::to_string(key.layer) + "." +
         std::string(lora_module_parent(key.module)) + "." +
         std::string(lora_module_name(key.module)) + ".lora_" +
         (key.matrix == LoraMatrix::A ? "A" : "B") + ".weight";
}

std::optional<LoraKey> parse_lora_tensor_key(std::string_view key) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "base_model" && parts[1] == "model") i = 2;
  // model . layers . N . parent . module . lora_X [. adapter] . weight
  const size_t rest = parts.size() - i;
  if (rest != 7 && rest != 8) return std::nullopt;
  if (parts[i] != "model" || parts[i + 1] != "layers") return std::nullopt;
  const std::string_view num = parts[i + 2];
  int64_t layer = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), layer);
  if (num.empty() || ec != std::errc() || p != num.data() + num.size() || layer < 0) {
    return std::nullopt;
  }
  auto mod = lora_module_from_name(parts[i + 4]);
  if (!mod || parts[i + 4] != lora_module_name(*mod)) return std::nullopt;  // full names only
  if (parts[i + 3] != lora_module_parent(*mod)) return std::nullopt;
  LoraMatrix matrix;
  if (parts[i + 5] == "lora_A") {
    matrix = LoraMatrix::A;
  } else if (parts[i + 5] == "lora_B") {
    matrix = LoraMatrix::B;
  } else {
    return std::nullopt;
  }
  if (rest == 8 && parts[i + 6].empty()) return std::nullopt;  // empty adapter name
  if (parts.back() != "weight") return std::nullopt;
  return LoraKey{layer, *mod, matrix};
}

}  // namespace wb::llama
