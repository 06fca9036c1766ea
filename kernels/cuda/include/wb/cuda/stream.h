// RAII owners of a CUDA stream and a cuBLAS handle, and the Context that bundles them for the
// kernels (every op takes a Context& and is enqueued on its stream, asynchronously).
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime_api.h>

namespace wb::cuda {

// A CUDA stream. Blocking (the default, cudaStreamDefault flags) means ordered with the legacy
// default stream, so the synchronous convenience copies in buffer.h never race the kernels.
// A non-blocking stream is what CUDA graph capture needs (work on a blocking stream would
// depend implicitly on the legacy stream, which capture refuses). Move-only.
class Stream {
 public:
  explicit Stream(bool blocking = true);
  ~Stream();
  Stream(Stream&& o) noexcept;
  Stream& operator=(Stream&& o) noexcept;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  cudaStream_t get() const { return s_; }
  // Blocks until everything enqueued so far has run; throws CudaError on an asynchronous fault.
  void synchronize() const;

 private:
  cudaStream_t s_ = nullptr;
};

// A cuBLAS handle bound to a stream, with the default (tensor-op capable) math mode.
class BlasHandle {
 public:
  explicit BlasHandle(cudaStream_t stream);
  ~BlasHandle();
  BlasHandle(BlasHandle&& o) noexcept;
  BlasHandle& operator=(BlasHandle&& o) noexcept;
  BlasHandle(const BlasHandle&) = delete;
  BlasHandle& operator=(const BlasHandle&) = delete;

  cublasHandle_t get() const { return h_; }

 private:
  cublasHandle_t h_ = nullptr;
};

// What every op needs: the stream to enqueue on and the cuBLAS handle bound to it.
// Construct only when device_available() (throws CudaError otherwise).
struct Context {
  explicit Context(bool blocking = true) : stream(blocking), blas(stream.get()) {}

  Stream stream;
  BlasHandle blas;

  cudaStream_t s() const { return stream.get(); }
  void synchronize() const { stream.synchronize(); }
};

}  // namespace wb::cuda
