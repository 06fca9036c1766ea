#include "reward_device.h"

#include "wb/plugin/spec.h"

namespace wb::reward {

std::string read_device(plugin::SpecReader& r) {
  r.allow("device");  // null is "absent"
  return r.has("device") ? r.one_of_or("device", {"auto", "cpu", "cuda"}, "auto") : "";
}

void fit_gpu_memory(sft::DeviceChoice& d, const std::string& requested, int64_t params) {
  const std::string why = sft::fit_gpu_memory(d, requested, params, /*full=*/false);
  if (!why.empty()) plugin::spec_fail("device", "cuda: " + why + "; set device to cpu or auto");
}

}  // namespace wb::reward
