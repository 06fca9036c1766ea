// device.h — where the engine's work runs: the one rule for a device setting "auto" | "cpu" |
// "cuda", and whether the GPU can hold a model. Every plugin asks here; none probes CUDA itself.
//
//   cuda  the GPU. Refused (DeviceError) when this build has no CUDA backend, when no device
//         answers (any CUDA error while probing counts as "no device"), or when the work is
//         CPU-only (`cpu_only` names why, e.g. "LoRA with dropout"). When "cuda" is only the
//         caller's default (nothing was asked), CPU-only work runs on the CPU and the note says so.
//   auto  cuda when a device answers and the work is not CPU-only; otherwise cpu, and the note
//         (and `reason`) say why.
//   cpu   the CPU.
//
//   llama::DeviceChoice d = llama::choose_device(spec.device, daemon_default, cpu_only);
//   log("device: " + d.note);                  // "cuda (NVIDIA H200)" / "cpu (auto: ...)"
//   if (auto why = llama::fit_gpu_memory(d, spec.device, params, full); !why.empty()) refuse(why);
//   auto loop = llama::make_train_loop(d, model, data, config, loss_every);   // train_loop.h
#pragma once

#include <cstdint>
#include <string>

#include "wb/engine_error.h"

namespace wb::llama {

// Whether this build has the CUDA backend (the GPU model, trainer, decoder and scorer).
bool cuda_built();

// "" when CUDA work can run here; otherwise why not, as one phrase:
//   "this build of workbench has no CUDA backend (configure with -DWB_CUDA=ON)"
//   "no CUDA device answers (<the runtime's reason>)"
// Never throws; the probe runs once per process.
std::string cuda_unavailable();

// The answering device: its name ("NVIDIA H100 80GB HBM3") and memory in bytes. Throws
// EngineError(unsupported) with cuda_unavailable() when there is none.
struct GpuDeviceInfo {
  std::string name;
  int64_t total_memory = 0;
};
GpuDeviceInfo gpu_device_info();

// A data-parallel rank that trains on the GPU: makes device (local_rank mod the device count) this
// process's current device before any GPU work, so the ranks on one machine spread over its GPUs
// (several share one where there are fewer). Nothing without a CUDA backend or device.
void use_rank_device(int local_rank);

// Whether `setting` is one of auto, cpu, cuda.
bool valid_device_setting(const std::string& setting);

struct DeviceChoice {
  bool cuda = false;
  std::string setting;  // what was asked: the request's device, or the default when it had none
  // One line for a job log: "cpu", "cuda (NVIDIA H200)", "cpu (auto: no CUDA device: ...)",
  // "cpu (auto: LoRA with dropout runs on the CPU only)", "cpu (the daemon's device is cuda, but
  // ... runs on the CPU only)", "cpu (auto: training of N parameters needs about ...)".
  std::string note;
  // Why the CPU although the setting allowed the GPU: the cpu_only text as given (first: it holds
  // on every machine), else cuda_unavailable(), or the memory problem; "" when cuda or when cpu
  // was asked for.
  std::string reason;
};

// A refused "cuda": what() is the whole sentence, e.g. "cuda (the daemon's device setting): no
// CUDA device answers (...); set device to cpu or auto"; reason() the bare why (as
// DeviceChoice::reason). Kind invalid_input for a bad setting or CPU-only work, unsupported when
// this build or machine has no GPU, out_of_memory when the GPU cannot hold the model.
class DeviceError : public EngineError {
 public:
  DeviceError(ErrorKind kind, const std::string& message, std::string reason)
      : EngineError(kind, message), reason_(std::move(reason)) {}
  const std::string& reason() const { return reason_; }

 private:
  std::string reason_;
};

// The rule above. requested: the request's setting ("" : none, use default_setting, which the
// caller keeps — e.g. the daemon's `device`); cpu_only: what keeps this work on the CPU ("" :
// nothing). Throws DeviceError for "cuda" that cannot run, and for a setting that is not one of
// auto, cpu, cuda ("expected one of auto, cpu, cuda, got 'x'").
DeviceChoice choose_device(const std::string& requested, const std::string& default_setting,
                           const std::string& cpu_only);

// Once the model is loaded: whether the GPU can hold a model of `params` parameters — the fp32
// device copy, plus for full training an fp32 master, gradient and two AdamW moments per
// parameter (20 bytes each), within 90% of the device's memory (the rest is left to activations);
// for other work (LoRA training, eval, scoring) the fp32 copy alone. "" when it fits (or without
// a device); otherwise one line saying how much is needed and what the device has, starting with
// `work` ("" : "full training" or "training").
std::string gpu_memory_problem(int64_t params, bool full, const std::string& work = "");

// Applies that rule to a choice: when `d` chose cuda and the GPU cannot hold the model, `d`
// becomes cpu with the reason in its note and `reason` — unless the work asked for cuda by name
// (`requested` == "cuda"): then `d` is unchanged and the reason is returned for the caller to
// refuse with. "" otherwise.
std::string fit_gpu_memory(DeviceChoice& d, const std::string& requested, int64_t params, bool full,
                           const std::string& work = "");

}  // namespace wb::llama
