#include "wb/cuda/buffer.h"

#include "wb/cuda/check.h"

namespace wb::cuda::detail {

void* device_alloc(size_t bytes) {
  void* p = nullptr;
  WB_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}
void device_free(void* p) noexcept {
  if (p) cudaFree(p);
}
void* pinned_alloc(size_t bytes) {
  void* p = nullptr;
  WB_CUDA_CHECK(cudaMallocHost(&p, bytes));
  return p;
}
void pinned_free(void* p) noexcept {
  if (p) cudaFreeHost(p);
}
void copy_bytes(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s) {
  if (bytes == 0) return;
  if (s == nullptr) {
    WB_CUDA_CHECK(cudaMemcpy(dst, src, bytes, kind));
    // A pageable host->device cudaMemcpy may return before the DMA lands: finish it, so the
    // data is in place for work on any stream.
    if (kind == cudaMemcpyHostToDevice) WB_CUDA_CHECK(cudaDeviceSynchronize());
  } else
    WB_CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, kind, s));
}
void fill_bytes(void* dst, int value, size_t bytes, cudaStream_t s) {
  if (bytes == 0) return;
  WB_CUDA_CHECK(cudaMemsetAsync(dst, value, bytes, s));
  if (s == nullptr) WB_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace wb::cuda::detail
