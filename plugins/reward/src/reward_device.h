// reward_device.h — where the reward plugin's work runs: a job spec's or request's "device"
// ("auto" | "cpu" | "cuda"), or, when it has none, the daemon's `device` setting given to the
// plugin's init. The rule is the sft plugin's, for any job kind (train_device.h
// sft::choose_device; this module has its own copy of the default):
//
//   cuda  the GPU. Refused (plugin::SpecError on field "device" -> WB_INVALID, at submission for
//         jobs) when this build has no CUDA backend, when no device answers, or when the work
//         is CPU-only (reward_cpu_only: LoRA with dropout). When "cuda" is only the daemon's
//         default, CPU-only work runs on the CPU and the note says so.
//   auto  cuda when this build has the backend, a device answers and the work can run there;
//         otherwise cpu, and the note says why.
//   cpu   the CPU.
//
//   const sft::DeviceChoice d = sft::choose_device(read_device(reader), cpu_only);
//   job.info("device: " + d.note);     // "cuda (NVIDIA H100 80GB HBM3)" / "cpu (auto: ...)"
#pragma once

#include <string>

#include "train_device.h"

namespace wb::plugin {
class SpecReader;
}

namespace wb::reward {

// The optional "device" field of a spec or request: "" when absent or null, else one of auto,
// cpu, cuda (SpecError naming "device" otherwise).
std::string read_device(plugin::SpecReader& r);

// Once the base model is loaded: sft::fit_gpu_memory for the fp32 copy of a model of `params`
// parameters (LoRA + head training and scoring keep no per-parameter state beside it), throwing
// plugin::SpecError naming "device" when the job or request asked for cuda by name.
void fit_gpu_memory(sft::DeviceChoice& d, const std::string& requested, int64_t params);

}  // namespace wb::reward
