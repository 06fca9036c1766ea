// Where a load_model request serves: its "device" option ("cpu" | "cuda" | "auto") against what
// this build and this machine can do, decided before the model is read.
//
//   "cpu"   the CPU.
//   "cuda"  the GPU, or plugin::PluginError(WB_INVALID) naming "device" and the reason: the build has no
//           CUDA backend, no CUDA device answers (cuda::unavailable_reason()), or a CPU-only option
//           was asked for (batch_invariant true, row_tile > 0: cuBLAS picks its kernels by the
//           batch's shape, so the GPU cannot promise batch-invariant results).
//   "auto"  the GPU when "cuda" would be accepted; otherwise the CPU, with a note saying why.
#pragma once

#include <string>

#include "model_options.h"

namespace wb::serve {

struct DeviceChoice {
  bool cuda = false;
  std::string note;  // why "auto" chose the CPU ("" otherwise)
};

// Throws plugin::PluginError(WB_INVALID) as above. Never throws for "cpu" and "auto".
DeviceChoice choose_device(const ModelOptions& o);

}  // namespace wb::serve
