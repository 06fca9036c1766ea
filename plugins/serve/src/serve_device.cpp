#include "serve_device.h"

#include "wb/plugin/error.h"

namespace wb::serve {

namespace {
// What in these options only the CPU honours ("" when nothing).
std::string cpu_only(const ModelOptions& o) {
  if (o.batch_invariant_given && o.batch_invariant)
    return "\"batch_invariant\": true cannot be honoured on the GPU (cuBLAS picks its kernels by the batch's "
           "shape, so a request's logits can change with the requests beside it); leave it out or set it to "
           "false, or serve on the CPU";
  if (o.row_tile > 0) return "\"row_tile\" is an option of the CPU's BLAS path; leave it out or serve on the CPU";
  return "";
}
}  // namespace

DeviceChoice choose_device(const ModelOptions& o) {
  DeviceChoice c;
  try {
    c = llama::choose_device(o.device, "cpu", cpu_only(o));
  } catch (const llama::DeviceError& e) {
    throw plugin::PluginError(WB_INVALID, "load_model: \"device\" \"cuda\" cannot serve here: " + e.reason());
  }
  c.note = c.cuda || o.device == "cpu" ? "" : "device \"auto\" serves on the CPU: " + c.reason;
  return c;
}

}  // namespace wb::serve
