#include "train_device.h"

#include <mutex>

#include <nlohmann/json.hpp>

#include "wb/plugin/spec.h"

#ifdef WB_SFT_CUDA
#include "wb/cuda/device.h"
#endif

namespace wb::sft {

namespace {
std::mutex g_mu;
std::string g_default = "auto";

bool valid_setting(const std::string& s) { return s == "auto" || s == "cpu" || s == "cuda"; }
}  // namespace

void set_default_device(const std::string& setting) {
  if (!valid_setting(setting))
    plugin::spec_fail("device", "expected one of auto, cpu, cuda, got '" + setting + "'");
  std::lock_guard<std::mutex> lock(g_mu);
  g_default = setting;
}

void apply_init_config(const char* config_json) {
  const nlohmann::json config =
      config_json && *config_json ? nlohmann::json::parse(config_json) : nlohmann::json::object();
  if (!config.is_object() || !config.contains("device")) return;
  if (!config["device"].is_string()) throw plugin::SpecError("device", "init config: expected a string");
  set_default_device(config["device"].get<std::string>());
}

std::string default_device() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_default;
}

bool cuda_built() {
#ifdef WB_SFT_CUDA
  return true;
#else
  return false;
#endif
}

DeviceChoice choose_device(const std::string& spec_device, const std::string& cpu_only) {
  DeviceChoice c;
  c.setting = spec_device.empty() ? default_device() : spec_device;
  const std::string from = spec_device.empty() ? " (the daemon's device setting)" : "";
  if (c.setting == "cpu") {
    c.note = "cpu";
    return c;
  }
  if (c.setting == "cuda" && !cpu_only.empty() && spec_device.empty()) {
    // The daemon's default, not this job's request: the job runs where it can.
    c.note = "cpu (the daemon's device is cuda, but " + cpu_only + " runs on the CPU only)";
    return c;
  }
  if (c.setting == "cuda") {
    if (!cpu_only.empty())
      plugin::spec_fail("device", "cuda" + from + ": " + cpu_only + " runs on the CPU only; set device to cpu "
                          "or auto");
    if (!cuda_built())
      plugin::spec_fail("device", "cuda" + from + ": this build of workbench has no CUDA backend (configure with "
                          "-DWB_CUDA=ON); set device to cpu or auto");
  }
#ifdef WB_SFT_CUDA
  if (!cuda::device_available()) {
    if (c.setting == "cuda")
      plugin::spec_fail("device", "cuda" + from + ": no CUDA device answers (" + cuda::unavailable_reason() +
                              "); set device to cpu or auto");
    c.note = "cpu (auto: no CUDA device: " + cuda::unavailable_reason() + ")";
    return c;
  }
  if (!cpu_only.empty()) {
    c.note = "cpu (auto: " + cpu_only + " runs on the CPU only)";
    return c;
  }
  c.cuda = true;
  c.note = "cuda (" + cuda::device_info().name + ")";
  return c;
#else
  c.note = "cpu (auto: this build has no CUDA backend)";
  return c;
#endif
}

DeviceChoice choose_train_device(const TrainSpec& s) {
  // Everything the CPU Trainer runs for these jobs runs on the GPU trainer too, except dropout.
  const bool dropout = s.kind == "sft" && s.method == "lora" && s.lora.lora_dropout > 0;
  return choose_device(s.device, dropout ? "LoRA with dropout" : "");
}

DeviceChoice choose_eval_device(const EvalSpec& s) { return choose_device(s.device, ""); }

std::string gpu_memory_problem(int64_t params, bool full, const std::string& work) {
#ifdef WB_SFT_CUDA
  if (!cuda::device_available()) return "";
  const double need = double(params) * (full ? 20.0 : 4.0);
  const double have = double(cuda::device_info().total_memory);
  if (need <= 0.9 * have) return "";
  auto gb = [](double b) { return std::to_string(int64_t(b / 1e9 + 0.5)) + " GB"; };
  const std::string what = !work.empty() ? work : full ? "full training" : "training";
  return what + " of " + std::to_string(params) +
         " parameters needs about " + gb(need) + " on the GPU, which has " + gb(have);
#else
  (void)params, (void)full, (void)work;
  return "";
#endif
}

std::string fit_gpu_memory(DeviceChoice& d, const std::string& requested, int64_t params, bool full,
                           const std::string& work) {
  if (!d.cuda) return "";
  const std::string why = gpu_memory_problem(params, full, work);
  if (why.empty() || requested == "cuda") return why;
  d.cuda = false;
  d.note = "cpu (" + d.setting + ": " + why + ")";
  return "";
}

}  // namespace wb::sft
