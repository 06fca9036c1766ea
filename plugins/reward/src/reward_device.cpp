#include "reward_device.h"

#include "spec_reader.h"
#include "train_device.h"

#ifdef WB_REWARD_CUDA
#include "wb/cuda/device.h"
#endif

namespace wb::reward {

bool reward_cuda_built() {
#ifdef WB_REWARD_CUDA
  return true;
#else
  return false;
#endif
}

std::string read_device(sft::SpecReader& r) {
  r.allow("device");  // null is "absent"
  return r.has("device") ? r.choice("device", {"auto", "cpu", "cuda"}, "auto") : "";
}

RewardDevice choose_reward_device(const std::string& requested, const std::string& cpu_only) {
  RewardDevice d;
  d.setting = requested.empty() ? sft::default_device() : requested;
  if (d.setting != "auto" && d.setting != "cpu" && d.setting != "cuda")
    sft::spec_fail("device", "expected one of auto, cpu, cuda, got '" + d.setting + "'");
  const std::string from = requested.empty() ? " (the daemon's device setting)" : "";
  if (d.setting == "cpu") {
    d.note = "cpu";
    return d;
  }
  if (d.setting == "cuda" && !cpu_only.empty() && requested.empty()) {
    // The daemon's default, not this request's: the work runs where it can.
    d.note = "cpu (the daemon's device is cuda, but " + cpu_only + " runs on the CPU only)";
    return d;
  }
  if (d.setting == "cuda") {
    if (!cpu_only.empty())
      sft::spec_fail("device", "cuda" + from + ": " + cpu_only + " runs on the CPU only; set device to cpu or auto");
    if (!reward_cuda_built())
      sft::spec_fail("device", "cuda" + from + ": this build of workbench has no CUDA backend (configure with "
                                               "-DWB_CUDA=ON); set device to cpu or auto");
  }
#ifdef WB_REWARD_CUDA
  if (!cuda::device_available()) {
    if (d.setting == "cuda")
      sft::spec_fail("device", "cuda" + from + ": no CUDA device answers (" + cuda::unavailable_reason() +
                                   "); set device to cpu or auto");
    d.note = "cpu (auto: no CUDA device: " + cuda::unavailable_reason() + ")";
    return d;
  }
  if (!cpu_only.empty()) {
    d.note = "cpu (auto: " + cpu_only + " runs on the CPU only)";
    return d;
  }
  d.cuda = true;
  d.note = "cuda (" + cuda::device_info().name + ")";
  return d;
#else
  d.note = "cpu (auto: this build has no CUDA backend)";
  return d;
#endif
}

}  // namespace wb::reward
