#include "wb/llama/device.h"

#if WB_HAVE_CUDA
#include "wb/cuda/device.h"
#endif

namespace wb::llama {

bool cuda_built() {
#if WB_HAVE_CUDA
  return true;
#else
  return false;
#endif
}

std::string cuda_unavailable() {
#if WB_HAVE_CUDA
  // device_available() never throws: a missing driver or any CUDA error answers false.
  if (cuda::device_available()) return "";
  return "no CUDA device answers (" + cuda::unavailable_reason() + ")";
#else
  return "this build of workbench has no CUDA backend (configure with -DWB_CUDA=ON)";
#endif
}

GpuDeviceInfo gpu_device_info() {
  const std::string why = cuda_unavailable();
  if (!why.empty()) throw EngineError(ErrorKind::unsupported, "device cuda: " + why);
#if WB_HAVE_CUDA
  const cuda::DeviceInfo d = cuda::device_info();
  return {d.name, static_cast<int64_t>(d.total_memory)};
#else
  return {};
#endif
}

void use_rank_device(int local_rank) {
#if WB_HAVE_CUDA
  cuda::select_device_for_rank(local_rank);
#else
  (void)local_rank;
#endif
}

bool valid_device_setting(const std::string& s) { return s == "auto" || s == "cpu" || s == "cuda"; }

DeviceChoice choose_device(const std::string& requested, const std::string& default_setting,
                           const std::string& cpu_only) {
  DeviceChoice c;
  c.setting = requested.empty() ? default_setting : requested;
  if (!valid_device_setting(c.setting))
    throw DeviceError(ErrorKind::invalid_input, "expected one of auto, cpu, cuda, got '" + c.setting + "'",
                      "");
  const std::string from = requested.empty() ? " (the daemon's device setting)" : "";
  if (c.setting == "cpu") {
    c.note = "cpu";
    return c;
  }
  if (!cpu_only.empty()) {
    c.reason = cpu_only;
    if (c.setting == "cuda" && requested.empty()) {
      // The default, not this work's request: the work runs where it can.
      c.note = "cpu (the daemon's device is cuda, but " + cpu_only + " runs on the CPU only)";
      return c;
    }
    if (c.setting == "cuda")
      throw DeviceError(ErrorKind::invalid_input,
                        "cuda" + from + ": " + cpu_only + " runs on the CPU only; set device to cpu or auto", cpu_only);
  }
  const std::string why = cuda_unavailable();
  if (!why.empty()) {
    if (c.setting == "cuda")
      throw DeviceError(ErrorKind::unsupported, "cuda" + from + ": " + why + "; set device to cpu or auto", why);
    if (c.reason.empty()) c.reason = why;  // the work's own CPU-only reason holds on every machine: it comes first
#if WB_HAVE_CUDA
    c.note = "cpu (auto: no CUDA device: " + cuda::unavailable_reason() + ")";
#else
    c.note = "cpu (auto: this build has no CUDA backend)";
#endif
    return c;
  }
  if (!cpu_only.empty()) {
    c.note = "cpu (auto: " + cpu_only + " runs on the CPU only)";
    return c;
  }
  c.cuda = true;
  c.note = "cuda (" + gpu_device_info().name + ")";
  return c;
}

std::string gpu_memory_problem(int64_t params, bool full, const std::string& work) {
  if (!cuda_unavailable().empty()) return "";
  const double need = double(params) * (full ? 20.0 : 4.0);
  const double have = double(gpu_device_info().total_memory);
  if (need <= 0.9 * have) return "";
  auto gb = [](double b) { return std::to_string(int64_t(b / 1e9 + 0.5)) + " GB"; };
  const std::string what = !work.empty() ? work : full ? "full training" : "training";
  return what + " of " + std::to_string(params) + " parameters needs about " + gb(need) + " on the GPU, which has " +
         gb(have);
}

std::string fit_gpu_memory(DeviceChoice& d, const std::string& requested, int64_t params, bool full,
                           const std::string& work) {
  if (!d.cuda) return "";
  const std::string why = gpu_memory_problem(params, full, work);
  if (why.empty() || requested == "cuda") return why;
  d.cuda = false;
  d.note = "cpu (" + d.setting + ": " + why + ")";
  d.reason = why;
  return "";
}

}  // namespace wb::llama
