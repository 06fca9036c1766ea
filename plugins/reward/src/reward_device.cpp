#include "reward_device.h"

#include "spec_reader.h"
#include "train_device.h"  // sft::default_device: the daemon's setting, from the plugin's init

namespace wb::reward {

std::string read_device(sft::SpecReader& r) {
  r.allow("device");  // null is "absent"
  return r.has("device") ? r.choice("device", {"auto", "cpu", "cuda"}, "auto") : "";
}

llama::DeviceChoice choose_device(const std::string& requested, const std::string& cpu_only) {
  try {
    return llama::choose_device(requested, sft::default_device(), cpu_only);
  } catch (const llama::DeviceError& e) {
    sft::spec_fail("device", e.what());
  }
}

void fit_gpu_memory(llama::DeviceChoice& d, const std::string& requested, int64_t params) {
  const std::string why = llama::fit_gpu_memory(d, requested, params, /*full=*/false);
  if (!why.empty()) sft::spec_fail("device", "cuda: " + why + "; set device to cpu or auto");
}

}  // namespace wb::reward
