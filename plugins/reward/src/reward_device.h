// reward_device.h — where the reward plugin's work runs: a job spec's or request's "device"
// ("auto" | "cpu" | "cuda"), or, when it has none, the daemon's `device` setting given to the
// plugin's init (sft::set_default_device / default_device, the sft plugin's code, one copy per
// plugin module).
//
//   cuda  the GPU. Refused (sft::SpecError on field "device" -> WB_INVALID, at submission for
//         jobs) when this build has no CUDA backend, when no device answers, or when the work
//         is CPU-only (`cpu_only` says why, e.g. "LoRA with dropout"). When "cuda" is only the
//         daemon's default, CPU-only work runs on the CPU and the note says so.
//   auto  cuda when this build has the backend, a device answers and the work can run there;
//         otherwise cpu, and the note says why.
//   cpu   the CPU.
//
//   RewardDevice d = choose_reward_device(spec_device, "");
//   job.info("device: " + d.note);     // "cuda (NVIDIA H100 80GB HBM3)" / "cpu (auto: ...)"
#pragma once

#include <string>

namespace wb::sft {
class SpecReader;
}

namespace wb::reward {

struct RewardDevice {
  bool cuda = false;
  std::string setting;  // what was asked: the spec's / request's device, or the daemon default
  std::string note;     // one line for logs and answers
};

// The optional "device" field of a spec or request: "" when absent or null, else one of auto,
// cpu, cuda (SpecError naming "device" otherwise).
std::string read_device(sft::SpecReader& r);

// Whether this plugin was built with the GPU paths (gpu_scorer.h, the GPU trainer).
bool reward_cuda_built();

// requested: "" (use the daemon default) or auto | cpu | cuda (callers parse the field with
// SpecReader::choice first). cpu_only: "" when the work can run on the GPU, else what keeps it
// on the CPU. Throws sft::SpecError naming "device".
RewardDevice choose_reward_device(const std::string& requested, const std::string& cpu_only = "");

}  // namespace wb::reward
