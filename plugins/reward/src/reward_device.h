// reward_device.h — where the reward plugin's work runs: the engine's rule (wb/llama/device.h
// llama::choose_device) over a job spec's or request's "device" ("auto" | "cpu" | "cuda"), or,
// when it has none, the daemon's `device` setting given to the plugin's init (kept by the shared
// spec code, sft::default_device):
//
//   cuda  the GPU. Refused (sft::SpecError on field "device" -> WB_INVALID, at submission for
//         jobs) when this build has no CUDA backend, when no device answers, or when the work
//         is CPU-only (reward_cpu_only: LoRA with dropout). When "cuda" is only the daemon's
//         default, CPU-only work runs on the CPU and the note says so.
//   auto  cuda when this build has the backend, a device answers and the work can run there;
//         otherwise cpu, and the note says why.
//   cpu   the CPU.
//
//   const llama::DeviceChoice d = choose_device(read_device(reader), cpu_only);
//   job.info("device: " + d.note);     // "cuda (NVIDIA H100 80GB HBM3)" / "cpu (auto: ...)"
#pragma once

#include <cstdint>
#include <string>

#include "wb/llama/device.h"

namespace wb::sft {
class SpecReader;
}

namespace wb::reward {

// The optional "device" field of a spec or request: "" when absent or null, else one of auto,
// cpu, cuda (SpecError naming "device" otherwise).
std::string read_device(sft::SpecReader& r);

// llama::choose_device with the daemon's default: requested is the spec's or request's device
// ("" : the default), cpu_only what keeps the work on the CPU ("" : nothing). Throws
// sft::SpecError naming "device" with the engine's reason.
llama::DeviceChoice choose_device(const std::string& requested, const std::string& cpu_only);

// Once the base model is loaded: llama::fit_gpu_memory for the fp32 copy of a model of `params`
// parameters (LoRA + head training and scoring keep no per-parameter state beside it), throwing
// sft::SpecError naming "device" when the job or request asked for cuda by name.
void fit_gpu_memory(llama::DeviceChoice& d, const std::string& requested, int64_t params);

}  // namespace wb::reward
