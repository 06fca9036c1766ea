#include "wb/cuda/stream.h"

#include <utility>

#include "wb/cuda/check.h"

namespace wb::cuda {

Stream::Stream(bool blocking) {
  WB_CUDA_CHECK(
      cudaStreamCreateWithFlags(&s_, blocking ? cudaStreamDefault : cudaStreamNonBlocking));
}
Stream::~Stream() {
  if (s_) cudaStreamDestroy(s_);
}
Stream::Stream(Stream&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
Stream& Stream::operator=(Stream&& o) noexcept {
  if (this != &o) {
    if (s_) cudaStreamDestroy(s_);
    s_ = std::exchange(o.s_, nullptr);
  }
  return *this;
}
void Stream::synchronize() const { WB_CUDA_CHECK(cudaStreamSynchronize(s_)); }

BlasHandle::BlasHandle(cudaStream_t stream) {
  WB_CUBLAS_CHECK(cublasCreate(&h_));
  try {
    WB_CUBLAS_CHECK(cublasSetStream(h_, stream));
  } catch (...) {
    cublasDestroy(h_);
    throw;
  }
}
BlasHandle::~BlasHandle() {
  if (h_) cublasDestroy(h_);
}
BlasHandle::BlasHandle(BlasHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
BlasHandle& BlasHandle::operator=(BlasHandle&& o) noexcept {
  if (this != &o) {
    if (h_) cublasDestroy(h_);
    h_ = std::exchange(o.h_, nullptr);
  }
  return *this;
}

}  // namespace wb::cuda
