#include "train_device.h"

#include <mutex>

#include <nlohmann/json.hpp>

#include "spec_reader.h"

namespace wb::sft {

namespace {
std::mutex g_mu;
std::string g_default = "auto";
}  // namespace

void set_default_device(const std::string& setting) {
  if (!llama::valid_device_setting(setting))
    spec_fail("device", "expected one of auto, cpu, cuda, got '" + setting + "'");
  std::lock_guard<std::mutex> lock(g_mu);
  g_default = setting;
}

void apply_init_config(const char* config_json) {
  const nlohmann::json config =
      config_json && *config_json ? nlohmann::json::parse(config_json) : nlohmann::json::object();
  if (!config.is_object() || !config.contains("device")) return;
  if (!config["device"].is_string()) throw SpecError("init config: device must be a string");
  set_default_device(config["device"].get<std::string>());
}

std::string default_device() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_default;
}

DeviceChoice choose_device(const std::string& spec_device, const std::string& cpu_only) {
  try {
    return llama::choose_device(spec_device, default_device(), cpu_only);
  } catch (const llama::DeviceError& e) {
    spec_fail("device", e.what());
  }
}

DeviceChoice choose_train_device(const TrainSpec& s) {
  // Everything the CPU Trainer runs for these jobs runs on the GPU trainer too, except dropout.
  const bool dropout = s.kind == "sft" && s.method == "lora" && s.lora.lora_dropout > 0;
  return choose_device(s.device, dropout ? "LoRA with dropout" : "");
}

DeviceChoice choose_eval_device(const EvalSpec& s) { return choose_device(s.device, ""); }

}  // namespace wb::sft
