// Device discovery and backend selection. Safe to call on any machine: with no GPU, no driver,
// or a driver older than the runtime, device_available() answers false and nothing throws.
#pragma once

#include <string>

namespace wb::cuda {

// True when at least one CUDA device answers and can be used by this build's kernels
// (compute capability >= 8.0, the oldest architecture compiled in). Never throws; the answer is
// computed once and cached.
bool device_available() noexcept;

// Why device_available() is false ("" when it is true), e.g.
// "cudaGetDeviceCount: CUDA driver version is insufficient for CUDA runtime version".
std::string unavailable_reason();

struct DeviceInfo {
  int index = 0;
  std::string name;                 // "NVIDIA H100 80GB HBM3"
  int sm_major = 0, sm_minor = 0;   // compute capability
  int multiprocessors = 0;
  size_t total_memory = 0;          // bytes
  double memory_bandwidth_gbs = 0;  // theoretical peak from memory clock x bus width, GB/s
};

// Properties of the current device. Throws CudaError when no device answers.
DeviceInfo device_info();

// Makes device (local_rank mod the device count) the current one (one rank per GPU on a machine,
// shared round-robin where there are fewer GPUs). Nothing when no device answers.
void select_device_for_rank(int local_rank) noexcept;

// The compute backends a run can pick (config `device = "auto" | "cpu" | "cuda"`).
enum class Backend { cpu, cuda };

// Resolves a device setting: "auto" -> cuda when device_available(), else cpu; "cpu" -> cpu;
// "cuda" -> cuda, or throws std::runtime_error with unavailable_reason() when no device answers.
// Any other string throws std::invalid_argument naming the accepted values.
Backend resolve_backend(const std::string& setting);

const char* backend_name(Backend b);

}  // namespace wb::cuda
