#include "wb/cuda/check.h"

namespace wb::cuda {

std::string describe(cudaError_t err, const char* expr, const char* file, int line) {
  return std::string(expr) + " failed at " + file + ":" + std::to_string(line) + ": " +
         cudaGetErrorString(err) + " (" + cudaGetErrorName(err) + ")";
}

std::string describe(cublasStatus_t status, const char* expr, const char* file, int line) {
  return std::string(expr) + " failed at " + file + ":" + std::to_string(line) + ": " +
         cublasGetStatusString(status) + " (" + cublasGetStatusName(status) + ")";
}

void check(cudaError_t err, const char* expr, const char* file, int line) {
  if (err == cudaSuccess) return;
  // The error is reported by this exception: take it off the thread's last error too, or the
  // next launch check (cudaGetLastError) would report it again, e.g. an out-of-memory cudaMalloc
  // the caller recovered from failing the next, unrelated kernel. (A sticky error — the context
  // is broken — keeps failing every later call anyway.)
  (void)cudaGetLastError();
  throw CudaError(describe(err, expr, file, line),
                  err == cudaErrorMemoryAllocation ? ErrorKind::out_of_memory : ErrorKind::internal);
}

void check(cublasStatus_t status, const char* expr, const char* file, int line) {
  if (status != CUBLAS_STATUS_SUCCESS)
    throw CudaError(describe(status, expr, file, line),
                    status == CUBLAS_STATUS_ALLOC_FAILED ? ErrorKind::out_of_memory : ErrorKind::internal);
}

}  // namespace wb::cuda
