// RAII memory: DeviceBuffer<T> (cudaMalloc) and PinnedBuffer<T> (cudaMallocHost, page-locked
// host memory for fast asynchronous copies), with typed copy helpers. Move-only; sizes are in
// elements. A zero-length buffer owns nothing and has a null data().
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include <cuda_runtime_api.h>

namespace wb::cuda {

namespace detail {
void* device_alloc(size_t bytes);      // throws CudaError (e.g. out of memory)
void device_free(void* p) noexcept;
void* pinned_alloc(size_t bytes);
void pinned_free(void* p) noexcept;
void copy_bytes(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t s);
void fill_bytes(void* dst, int value, size_t bytes, cudaStream_t s);
}  // namespace detail

template <typename T, void* (*Alloc)(size_t), void (*Free)(void*) noexcept>
class OwnedBuffer {
 public:
  OwnedBuffer() = default;
  explicit OwnedBuffer(size_t n) : n_(n), p_(n ? static_cast<T*>(Alloc(n * sizeof(T))) : nullptr) {}
  ~OwnedBuffer() { Free(p_); }
  OwnedBuffer(OwnedBuffer&& o) noexcept
      : n_(std::exchange(o.n_, 0)), p_(std::exchange(o.p_, nullptr)) {}
  OwnedBuffer& operator=(OwnedBuffer&& o) noexcept {
    if (this != &o) {
      Free(p_);
      n_ = std::exchange(o.n_, 0);
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  OwnedBuffer(const OwnedBuffer&) = delete;
  OwnedBuffer& operator=(const OwnedBuffer&) = delete;

  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(T); }

 private:
  size_t n_ = 0;
  T* p_ = nullptr;
};

template <typename T>
using DeviceBuffer = OwnedBuffer<T, detail::device_alloc, detail::device_free>;
template <typename T>
using PinnedBuffer = OwnedBuffer<T, detail::pinned_alloc, detail::pinned_free>;

// Host -> device / device -> host copies of n elements. With s == nullptr the copy is synchronous
// (cudaMemcpy); otherwise it is enqueued on s (cudaMemcpyAsync) and the host memory must stay
// valid until the stream reaches it (use PinnedBuffer for truly asynchronous copies).
template <typename T>
void upload(T* dst_device, const T* src_host, size_t n, cudaStream_t s = nullptr) {
  detail::copy_bytes(dst_device, src_host, n * sizeof(T), cudaMemcpyHostToDevice, s);
}
template <typename T>
void download(T* dst_host, const T* src_device, size_t n, cudaStream_t s = nullptr) {
  detail::copy_bytes(dst_host, src_device, n * sizeof(T), cudaMemcpyDeviceToHost, s);
}
template <typename T>
void copy_device(T* dst, const T* src, size_t n, cudaStream_t s = nullptr) {
  detail::copy_bytes(dst, src, n * sizeof(T), cudaMemcpyDeviceToDevice, s);
}
// Sets every byte of n elements to `byte` (0 for zeros; 0xFF poisons floats with NaN).
template <typename T>
void fill_bytes(T* dst, int byte, size_t n, cudaStream_t s = nullptr) {
  detail::fill_bytes(dst, byte, n * sizeof(T), s);
}

// Convenience: a device buffer holding a copy of a host vector, and the reverse (synchronous).
template <typename T>
DeviceBuffer<T> to_device(const std::vector<T>& host) {
  DeviceBuffer<T> d(host.size());
  upload(d.data(), host.data(), host.size());
  return d;
}
template <typename T>
std::vector<T> to_host(const T* device, size_t n) {
  std::vector<T> h(n);
  download(h.data(), device, n);
  return h;
}

}  // namespace wb::cuda
