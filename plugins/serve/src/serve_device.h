// Where a load_model request serves: the engine's rule (wb/llama/device.h llama::choose_device)
// over its "device" option ("cpu" | "cuda" | "auto"), with the options only the CPU honours as
// the CPU-only reason, decided before the model is read.
//
//   "cpu"   the CPU.
//   "cuda"  the GPU, or plugin::PluginError(WB_INVALID) naming "device" and the reason: the build has no
//           CUDA backend, no CUDA device answers, or a CPU-only option was asked for
//           (batch_invariant true, row_tile > 0: cuBLAS picks its kernels by the batch's shape,
//           so the GPU cannot promise batch-invariant results).
//   "auto"  the GPU when "cuda" would be accepted; otherwise the CPU, with a note saying why.
#pragma once

#include "model_options.h"
#include "wb/llama/device.h"

namespace wb::serve {

// The engine's choice; its note is "" unless "auto" chose the CPU: then
// "device \"auto\" serves on the CPU: <reason>".
using DeviceChoice = llama::DeviceChoice;

// Throws plugin::PluginError(WB_INVALID) as above. Never throws for "cpu" and "auto".
DeviceChoice choose_device(const ModelOptions& o);

}  // namespace wb::serve
