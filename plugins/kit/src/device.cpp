#include "wb/plugin/device.h"

#include <mutex>

#include <nlohmann/json.hpp>

namespace wb::plugin {

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
  const nlohmann::json config = config_json && *config_json ? parse_spec(config_json) : nlohmann::json::object();
  if (!config.is_object() || !config.contains("device")) return;
  if (!config["device"].is_string()) spec_fail("device", "init config: expected a string");
  set_default_device(config["device"].get<std::string>());
}

std::string default_device() {
  std::lock_guard<std::mutex> lock(g_mu);
  return g_default;
}

std::string read_device(SpecReader& r) {
  r.allow("device");  // null is "absent"
  return r.has("device") ? r.one_of_or("device", {"auto", "cpu", "cuda"}, "auto") : "";
}

llama::DeviceChoice choose_device(const std::string& requested, const std::string& cpu_only) {
  try {
    return llama::choose_device(requested, default_device(), cpu_only);
  } catch (const llama::DeviceError& e) {
    spec_fail("device", e.what());
  }
}

void fit_gpu_memory(llama::DeviceChoice& d, const std::string& requested, int64_t params, bool full,
                    const std::string& work) {
  const std::string why = llama::fit_gpu_memory(d, requested, params, full, work);
  if (!why.empty()) spec_fail("device", "cuda: " + why + "; set device to cpu or auto");
}

}  // namespace wb::plugin
