// train_device.h — where a pretrain/sft/eval job runs: the engine's rule (wb/llama/device.h
// llama::choose_device) over the spec's "device" ("auto" | "cpu" | "cuda"), or, when the spec has
// none, the daemon's `device` setting given to the plugin's init (kept here).
//
//   cuda  the GPU: pretraining, full SFT and LoRA SFT on the GPU trainer, eval jobs' greedy
//         generation on the GPU decoder. Refused (SpecError on field "device", at submission) when
//         this build has no CUDA backend, when no device answers, or for LoRA dropout > 0, which
//         only the CPU trainer runs. (When "cuda" is only the daemon's default, such a job runs
//         on the CPU and the note says so.)
//   auto  cuda when a device answers and the job is not CPU-only; otherwise cpu, and the note
//         says why.
//   cpu   the CPU engine.
//
// Once the model is loaded, llama::fit_gpu_memory moves work the GPU cannot hold to the CPU.
#pragma once

#include <string>

#include "specs.h"
#include "wb/llama/device.h"

namespace wb::sft {

using llama::DeviceChoice;

// Sets the default for specs without "device" (from init's config JSON); throws SpecError for a
// value other than auto, cpu, cuda. Initially "auto".
void set_default_device(const std::string& setting);
// Applies a plugin init config (the daemon's settings as JSON; null or empty: none): its
// "device", when present, becomes the default device. Throws SpecError for a device that is not
// a string, and what set_default_device throws.
void apply_init_config(const char* config_json);
std::string default_device();

// llama::choose_device with this plugin's default: spec_device is the spec's "device" (empty:
// the default), cpu_only names what keeps this job on the CPU (empty: nothing; e.g. "LoRA with
// dropout"). Throws SpecError naming "device" with the engine's reason.
DeviceChoice choose_device(const std::string& spec_device, const std::string& cpu_only);

// The device for a parsed train spec (CPU-only: LoRA dropout > 0).
DeviceChoice choose_train_device(const TrainSpec& s);
// The device for a parsed eval spec (nothing CPU-only).
DeviceChoice choose_eval_device(const EvalSpec& s);

}  // namespace wb::sft
