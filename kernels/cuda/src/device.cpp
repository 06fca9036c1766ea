#include "wb/cuda/device.h"

#include <cuda_runtime_api.h>

#include <mutex>
#include <stdexcept>

#include "wb/cuda/check.h"

namespace wb::cuda {
namespace {

struct Probe {
  bool ok = false;
  std::string reason;
};

// Asks the runtime once. Any error (no driver, old driver, no device, a device too old for the
// compiled architectures) means "no device"; nothing propagates.
Probe run_probe() noexcept {
  Probe p;
  try {
    int count = 0;
    cudaError_t err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess) {
      p.reason = std::string("cudaGetDeviceCount: ") + cudaGetErrorString(err);
      cudaGetLastError();  // clear the sticky-free error so later calls start clean
      return p;
    }
    if (count <= 0) {
      p.reason = "no CUDA device";
      return p;
    }
    cudaDeviceProp prop{};
    err = cudaGetDeviceProperties(&prop, 0);
    if (err != cudaSuccess) {
      p.reason = std::string("cudaGetDeviceProperties: ") + cudaGetErrorString(err);
      cudaGetLastError();
      return p;
    }
    if (prop.major < 8) {
      p.reason = std::string(prop.name) + " has compute capability " + std::to_string(prop.major) +
                 "." + std::to_string(prop.minor) + "; this build needs 8.0 or newer";
      return p;
    }
    p.ok = true;
  } catch (...) {
    p.ok = false;
    p.reason = "CUDA probe failed";
  }
  return p;
}

const Probe& probe() noexcept {
  static const Probe p = run_probe();
  return p;
}

}  // namespace

bool device_available() noexcept { return probe().ok; }

std::string unavailable_reason() { return probe().reason; }

DeviceInfo device_info() {
  if (!device_available()) throw CudaError("no CUDA device: " + unavailable_reason(), ErrorKind::unsupported);
  int dev = 0;
  WB_CUDA_CHECK(cudaGetDevice(&dev));
  cudaDeviceProp prop{};
  WB_CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
  DeviceInfo info;
  info.index = dev;
  info.name = prop.name;
  info.sm_major = prop.major;
  info.sm_minor = prop.minor;
  info.multiprocessors = prop.multiProcessorCount;
  info.total_memory = prop.totalGlobalMem;
  int clock_khz = 0, bus_bits = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrMemoryClockRate, dev) == cudaSuccess &&
      cudaDeviceGetAttribute(&bus_bits, cudaDevAttrGlobalMemoryBusWidth, dev) == cudaSuccess) {
    // DDR: two transfers per clock.
    info.memory_bandwidth_gbs = 2.0 * clock_khz * 1e3 * (bus_bits / 8.0) / 1e9;
  }
  return info;
}

void select_device_for_rank(int local_rank) noexcept {
  if (!device_available() || local_rank < 0) return;
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count <= 0) {
    cudaGetLastError();
    return;
  }
  if (cudaSetDevice(local_rank % count) != cudaSuccess) cudaGetLastError();
}

Backend resolve_backend(const std::string& setting) {
  if (setting == "cpu") return Backend::cpu;
  if (setting == "auto") return device_available() ? Backend::cuda : Backend::cpu;
  if (setting == "cuda") {
    if (!device_available())
      throw std::runtime_error("device = \"cuda\" but no CUDA device answers: " +
                               unavailable_reason());
    return Backend::cuda;
  }
  throw std::invalid_argument("device must be \"auto\", \"cpu\" or \"cuda\", got \"" + setting +
                              "\"");
}

const char* backend_name(Backend b) { return b == Backend::cuda ? "cuda" : "cpu"; }

}  // namespace wb::cuda
