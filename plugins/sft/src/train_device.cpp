#include "train_device.h"

#include <mutex>

#include "spec_reader.h"

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
    spec_fail("device", "expected one of auto, cpu, cuda, got '" + setting + "'");
  std::lock_guard<std::mutex> lock(g_mu);
  g_default = setting;
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

DeviceChoice choose_train_device(const TrainSpec& s) {
  DeviceChoice c;
  c.setting = s.device.empty() ? default_device() : s.device;
  const std::string from = s.device.empty() ? " (the daemon's device setting)" : "";
  // What the GPU trainer runs; anything else is CPU-only.
  std::string cpu_only;
  if (s.kind != "sft" || s.method != "lora")
    cpu_only = s.kind == "pretrain" ? "pretraining" : "full SFT (method full)";
  else if (s.lora.lora_dropout > 0)
    cpu_only = "LoRA with dropout";
  if (c.setting == "cpu") {
    c.note = "cpu";
    return c;
  }
  if (c.setting == "cuda" && !cpu_only.empty() && s.device.empty()) {
    // The daemon's default, not this job's request: the job runs where it can.
    c.note = "cpu (the daemon's device is cuda, but " + cpu_only + " trains on the CPU only)";
    return c;
  }
  if (c.setting == "cuda") {
    if (!cpu_only.empty())
      spec_fail("device", "cuda" + from + " trains LoRA SFT only (method lora, dropout 0); " + cpu_only +
                              " runs on the CPU: set device to cpu or auto");
    if (!cuda_built())
      spec_fail("device", "cuda" + from + ": this build of workbench has no CUDA backend (configure with "
                          "-DWB_CUDA=ON); set device to cpu or auto");
  }
#ifdef WB_SFT_CUDA
  if (!cuda::device_available()) {
    if (c.setting == "cuda")
      spec_fail("device", "cuda" + from + ": no CUDA device answers (" + cuda::unavailable_reason() +
                              "); set device to cpu or auto");
    c.note = "cpu (auto: no CUDA device: " + cuda::unavailable_reason() + ")";
    return c;
  }
  if (!cpu_only.empty()) {
    c.note = "cpu (auto: " + cpu_only + " trains on the CPU only)";
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

}  // namespace wb::sft
