// Error checking for the CUDA backend. Every CUDA runtime or cuBLAS call goes through
// WB_CUDA_CHECK / WB_CUBLAS_CHECK, which throw wb::cuda::CudaError carrying the library's own
// error string and the call site, e.g.
//   "cudaMalloc(&p, bytes) failed at buffer.cpp:31: out of memory (cudaErrorMemoryAllocation)".
// Kernel launches are checked with WB_CUDA_CHECK_LAUNCH() right after the <<<...>>>.
// Exceptions stay inside C++: the engine turns them into status + message at the plugin ABI.
#pragma once

#include "wb/engine_error.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace wb::cuda {

// A failed CUDA runtime or cuBLAS call.
// An EngineError: out_of_memory for cudaErrorMemoryAllocation and CUBLAS_STATUS_ALLOC_FAILED,
// unsupported when no device answers, internal otherwise.
class CudaError : public EngineError {
 public:
  explicit CudaError(const std::string& message, ErrorKind kind = ErrorKind::internal) : EngineError(kind, message) {}
};

// Builds the message for a failed call; exposed so the formatting is testable without a device.
std::string describe(cudaError_t err, const char* expr, const char* file, int line);
std::string describe(cublasStatus_t status, const char* expr, const char* file, int line);

// Throw CudaError unless the call succeeded.
void check(cudaError_t err, const char* expr, const char* file, int line);
void check(cublasStatus_t status, const char* expr, const char* file, int line);

}  // namespace wb::cuda

#define WB_CUDA_CHECK(expr) ::wb::cuda::check((expr), #expr, __FILE__, __LINE__)
#define WB_CUBLAS_CHECK(expr) ::wb::cuda::check((expr), #expr, __FILE__, __LINE__)
// After a kernel launch: reports a bad launch configuration (not asynchronous faults, which
// surface at the next synchronizing call).
#define WB_CUDA_CHECK_LAUNCH() ::wb::cuda::check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)
