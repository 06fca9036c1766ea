// PEFT adapter directory: adapter_config.json + adapter_model.safetensors.
#include "wb/llama/peft_adapter.h"

#include "wb/llama/finite.h"

#include <algorithm>
#include <map>
#include <tuple>

#include "wb/llama/safetensors.h"

namespace wb::llama {

namespace {

auto order_key(const LoraKey& k) {
  return std::make_tuple(k.layer, static_cast<int>(k.module), static_cast<int>(k.matrix));
}

std::string key_text(const LoraKey& k) { return lora_tensor_key(k); }

// Checks shapes and A/B pairing; `where` prefixes errors.
void check_tensors(const std::string& where, const LoraConfig& config,
                   const std::vector<LoraTensor>& tensors) {
  std::map<std::tuple<int64_t, int>, std::pair<const LoraTensor*, const LoraTensor*>> pairs;
  for (const auto& t : tensors) {
    const std::string name = key_text(t.key);
    if (!config.targets(t.key.module)) {
      throw PeftConfigError(where + ": tensor '" + name + "' is for " +
                            std::string(lora_module_name(t.key.module)) +
                            ", which target_modules does not list");
    }
    if (t.shape.size() != 2) {
      throw PeftConfigError(where + ": tensor '" + name + "' is not 2-dimensional");
    }
    const int64_t rank_dim = t.key.matrix == LoraMatrix::A ? t.shape[0] : t.shape[1];
    if (rank_dim != config.r) {
      throw PeftConfigError(where + ": tensor '" + name + "' has rank dimension " +
                            std::to_string(rank_dim) + ", r is " + std::to_string(config.r));
    }
    if (t.shape[0] < 1 || t.shape[1] < 1 ||
        static_cast<int64_t>(t.data.size()) != t.shape[0] * t.shape[1]) {
      throw PeftConfigError(where + ": tensor '" + name + "' data does not match its shape");
    }
    auto& slot = pairs[{t.key.layer, static_cast<int>(t.key.module)}];
    auto& ptr = t.key.matrix == LoraMatrix::A ? slot.first : slot.second;
    if (ptr != nullptr) throw PeftConfigError(where + ": tensor '" + name + "' appears twice");
    ptr = &t;
  }
  for (const auto& [k, ab] : pairs) {
    if (ab.first == nullptr || ab.second == nullptr) {
      const LoraTensor* have = ab.first ? ab.first : ab.second;
      LoraKey missing = have->key;
      missing.matrix = ab.first ? LoraMatrix::B : LoraMatrix::A;
      throw PeftConfigError(where + ": tensor '" + key_text(missing) + "' is missing (its pair '" +
                            key_text(have->key) + "' is present)");
    }
  }
}

}  // namespace

const LoraTensor* PeftAdapter::find(const LoraKey& key) const {
  for (const auto& t : tensors) {
    if (t.key == key) return &t;
  }
  return nullptr;
}

PeftAdapter load_peft_adapter(const std::filesystem::path& dir) {
  PeftAdapter a;
  a.config = load_peft_config(dir / "adapter_config.json");
  const std::filesystem::path weights = dir / "adapter_model.safetensors";
  SafetensorsFile f(weights);
  for (const auto& info : f.tensors()) {
    auto key = parse_lora_tensor_key(info.name);
    if (!key) {
      throw PeftConfigError(weights.string() + ": tensor '" + info.name +
                            "' is not a LoRA weight of a Llama layer");
    }
    a.tensors.push_back({*key, info.shape, f.read_f32(info.name)});
    const auto& data = a.tensors.back().data;
    if (auto bad = non_finite_message(std::span<const float>(data), weights.string(), info.name); !bad.empty())
      throw PeftConfigError(bad);
  }
  if (a.tensors.empty()) throw PeftConfigError(weights.string() + ": holds no LoRA tensors");
  std::sort(a.tensors.begin(), a.tensors.end(), [](const LoraTensor& x, const LoraTensor& y) {
    return order_key(x.key) < order_key(y.key);
  });
  check_tensors(weights.string(), a.config, a.tensors);
  return a;
}

void save_peft_adapter(const std::filesystem::path& dir, const PeftAdapter& adapter,
                       DType store_as) {
  adapter.config.validate();
  check_tensors(dir.string(), adapter.config, adapter.tensors);
  SafetensorsWriter w;
  for (const auto& t : adapter.tensors) w.add_f32(lora_tensor_key(t.key), t.shape, t.data, store_as);
  std::filesystem::create_directories(dir);
  w.write(dir / "adapter_model.safetensors");
  save_peft_config(adapter.config, dir / "adapter_config.json");
}

}  // namespace wb::llama
