// train_device.h — where a pretrain/sft/eval job runs: the spec's "device" ("auto" | "cpu" |
// "cuda"), or, when the spec has none, the daemon's `device` setting given to the plugin's init.
//
//   cuda  the GPU: pretraining, full SFT and LoRA SFT on the GPU trainer
//         (wb/llama/cuda/trainer.h), eval jobs' greedy generation on GpuLlama. Refused
//         (plugin::SpecError on field "device", at submission) when this build has no CUDA backend, when
//         no device answers, or for LoRA dropout > 0, which only the CPU trainer runs. (When
//         "cuda" is only the daemon's default, such a job runs on the CPU and the note says so.)
//   auto  cuda when a device answers and the job is not CPU-only; otherwise cpu, and the note
//         says why.
//   cpu   the CPU engine.
#pragma once

#include <cstdint>
#include <string>

#include "specs.h"

namespace wb::sft {

// Sets the default for specs without "device" (from init's config JSON); throws plugin::SpecError for a
// value other than auto, cpu, cuda. Initially "auto".
void set_default_device(const std::string& setting);
// Applies a plugin init config (the daemon's settings as JSON; null or empty: none): its
// "device", when present, becomes the default device. Throws plugin::SpecError for a device that is not
// a string, and what set_default_device throws.
void apply_init_config(const char* config_json);
std::string default_device();

// Whether this plugin was built with the GPU engine (the CUDA backend).
bool cuda_built();

struct DeviceChoice {
  bool cuda = false;
  std::string setting;  // what was asked: the spec's device or the default
  std::string note;     // one line for the job log, e.g. "cuda (NVIDIA H200)" or "cpu (auto: ...)"
};

// The rule above for any job: spec_device is the spec's "device" (empty: the default), cpu_only
// names what keeps this job on the CPU (empty: nothing; e.g. "LoRA with dropout"). Throws
// plugin::SpecError naming "device".
DeviceChoice choose_device(const std::string& spec_device, const std::string& cpu_only);

// The device for a parsed train spec (CPU-only: LoRA dropout > 0).
DeviceChoice choose_train_device(const TrainSpec& s);
// The device for a parsed eval spec (nothing CPU-only).
DeviceChoice choose_eval_device(const EvalSpec& s);

// Once the model is loaded: whether the GPU can hold a model of `params` parameters for
// training — the fp32 device copy, plus for full training an fp32 master, gradient and two AdamW
// moments per parameter (20 bytes each), within 90% of the device's memory (the rest is left to
// activations); for other work (eval, scoring) the fp32 copy alone. "" when it fits (or without
// a device); otherwise one line saying how much is needed and what the device has, starting
// with `work` ("" : "full training" or "training").
std::string gpu_memory_problem(int64_t params, bool full, const std::string& work = "");

// Applies that rule to a choice: when `d` chose cuda and the GPU cannot hold the model, `d`
// becomes cpu with the reason in its note — unless the job asked for cuda by name
// (`requested` == "cuda"): then `d` is unchanged and the reason is returned for the caller to
// refuse with. "" otherwise.
std::string fit_gpu_memory(DeviceChoice& d, const std::string& requested, int64_t params, bool full,
                           const std::string& work = "");

}  // namespace wb::sft
