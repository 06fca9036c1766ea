#include "serve_device.h"

#include "gpu_backend.h"
#include "wb/plugin/error.h"

#if WB_SERVE_CUDA
#include "wb/cuda/device.h"
#endif

namespace wb::serve {

namespace {
// Why the GPU cannot serve these options here ("" when it can).
std::string gpu_refusal(const ModelOptions& o) {
  if (o.batch_invariant_given && o.batch_invariant)
    return "\"batch_invariant\": true cannot be honoured on the GPU (cuBLAS picks its kernels by the batch's "
           "shape, so a request's logits can change with the requests beside it); leave it out or set it to "
           "false, or serve on the CPU";
  if (o.row_tile > 0) return "\"row_tile\" is an option of the CPU's BLAS path; leave it out or serve on the CPU";
  if (!gpu_backend_built())
    return "this build of workbench has no CUDA backend (configure with -DWB_CUDA=ON)";
#if WB_SERVE_CUDA
  if (!cuda::device_available()) return "no CUDA device answers (" + cuda::unavailable_reason() + ")";
#endif
  return "";
}
}  // namespace

DeviceChoice choose_device(const ModelOptions& o) {
  DeviceChoice c;
  if (o.device == "cpu") return c;
  const std::string why = gpu_refusal(o);
  if (o.device == "cuda") {
    if (!why.empty()) throw plugin::PluginError(WB_INVALID, "load_model: \"device\" \"cuda\" cannot serve here: " + why);
    c.cuda = true;
    return c;
  }
  // "auto"
  if (why.empty()) {
    c.cuda = true;
  } else {
    c.note = "device \"auto\" serves on the CPU: " + why;
  }
  return c;
}

}  // namespace wb::serve
