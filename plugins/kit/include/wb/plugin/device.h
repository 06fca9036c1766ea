// device.h — a plugin's side of where work runs: the daemon's `device` setting (handed to every
// plugin's init as config JSON "device"), the optional "device" field of a spec or request, and
// the engine's rule (wb/llama/device.h) applied with that default, its refusals as SpecError
// naming "device" (WB_INVALID at the ABI):
//
//   plugin::apply_init_config(config_json);                       // in init()
//   const std::string asked = plugin::read_device(reader);        // "" when absent
//   llama::DeviceChoice d = plugin::choose_device(asked, cpu_only);
//   plugin::fit_gpu_memory(d, asked, model.weights.numel(), /*full=*/false);
//   job.info("device: " + d.note);    // "cuda (NVIDIA H100 80GB HBM3)" / "cpu (auto: ...)"
//
// The default is per plugin module (each links its own kit), initially "auto".
#pragma once

#include <cstdint>
#include <string>

#include "wb/llama/device.h"
#include "wb/plugin/spec.h"

namespace wb::plugin {

// Sets the default for work without "device"; SpecError naming "device" for a value other than
// auto, cpu, cuda.
void set_default_device(const std::string& setting);
// Applies a plugin init config (the daemon's settings as JSON; NULL or empty: none): its
// "device", when present, becomes the default. SpecError for a device that is not a string or
// not a setting.
void apply_init_config(const char* config_json);
std::string default_device();

// The optional "device" field: "" when absent or null, else one of auto, cpu, cuda (SpecError
// naming "device" otherwise).
std::string read_device(SpecReader& r);

// llama::choose_device with this module's default: `requested` is the spec's or request's device
// ("": the default), `cpu_only` what keeps the work on the CPU ("": nothing). Throws SpecError
// naming "device" with the engine's reason.
llama::DeviceChoice choose_device(const std::string& requested, const std::string& cpu_only);

// Once the model is loaded: llama::fit_gpu_memory; when cuda was asked for by name and the GPU
// cannot hold the work, SpecError naming "device": "cuda: <why>; set device to cpu or auto".
void fit_gpu_memory(llama::DeviceChoice& d, const std::string& requested, int64_t params, bool full,
                    const std::string& work = "");

}  // namespace wb::plugin
