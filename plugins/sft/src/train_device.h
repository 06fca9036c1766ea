// train_device.h — where a pretrain/sft job trains: the spec's "device" ("auto" | "cpu" |
// "cuda"), or, when the spec has none, the daemon's `device` setting given to the plugin's init.
//
//   cuda  LoRA SFT (method lora, dropout 0) on the GPU trainer (wb/llama/cuda/lora_trainer.h).
//         Refused (SpecError on field "device", at submission) when this build has no CUDA
//         backend, when no device answers, or for full SFT / pretraining / LoRA dropout, which
//         only the CPU trainer runs. (When "cuda" is only the daemon's default, those jobs
//         run on the CPU and the note says so.)
//   auto  cuda when the job is LoRA SFT without dropout and a device answers; otherwise cpu,
//         and the note says why.
//   cpu   the CPU Trainer.
#pragma once

#include <string>

#include "specs.h"

namespace wb::sft {

// Sets the default for specs without "device" (from init's config JSON); throws SpecError for a
// value other than auto, cpu, cuda. Initially "auto".
void set_default_device(const std::string& setting);
std::string default_device();

// Whether this plugin was built with the GPU trainer (the CUDA backend).
bool cuda_built();

struct DeviceChoice {
  bool cuda = false;
  std::string setting;  // what was asked: the spec's device or the default
  std::string note;     // one line for the job log, e.g. "cuda (NVIDIA H200)" or "cpu (auto: ...)"
};

// The device for a parsed train spec (see above). Throws SpecError naming "device".
DeviceChoice choose_train_device(const TrainSpec& s);

}  // namespace wb::sft
