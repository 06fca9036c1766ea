// train_device.h — where a pretrain/sft/eval job runs: the kit's device rule (wb/plugin/device.h,
// the engine's llama::choose_device with the daemon's default) over the spec's "device" ("auto" |
// "cpu" | "cuda"):
//
//   cuda  the GPU: pretraining, full SFT and LoRA SFT on the GPU trainer, eval jobs' greedy
//         generation on the GPU decoder. Refused (plugin::SpecError on field "device", at
//         submission) when this build has no CUDA backend, when no device answers, or for LoRA
//         dropout > 0, which only the CPU trainer runs. (When "cuda" is only the daemon's default,
//         such a job runs on the CPU and the note says so.)
//   auto  cuda when a device answers and the job is not CPU-only; otherwise cpu, and the note
//         says why.
//   cpu   the CPU engine.
//
// Once the model is loaded, llama::fit_gpu_memory moves work the GPU cannot hold to the CPU.
#pragma once

#include "specs.h"
#include "wb/llama/device.h"

namespace wb::sft {

// The device for a parsed train spec (CPU-only: LoRA dropout > 0).
llama::DeviceChoice choose_train_device(const TrainSpec& s);
// The device for a parsed eval spec (nothing CPU-only).
llama::DeviceChoice choose_eval_device(const EvalSpec& s);

}  // namespace wb::sft
