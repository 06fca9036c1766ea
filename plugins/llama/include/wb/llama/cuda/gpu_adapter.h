// GpuAdapter<T>: a LoRA adapter's matrices on the device, in storage T, for serving
// (gpu_decoder.h). Built once from the CPU engine's adapter (llama::LoraAdapter<float>, the
// layout the adapter registry loads: A [r, in], B [out, r] per targeted linear of each layer);
// immutable afterwards; frees its device memory when destroyed (RAII).
//
//   gpu::GpuAdapter<bf16> a(lora, model.config());   // checks shapes, uploads (synchronous)
//   seq.adapter = &a; seq.adapter_scale = 0.5f;       // y += 0.5 * scale() * B (A x)
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "wb/cuda/buffer.h"
#include "wb/llama/config.h"
#include "wb/llama/lora.h"

namespace wb::gpu {

template <typename T>
class GpuLlama;

template <typename T>
class GpuAdapter {
 public:
  // Throws std::invalid_argument (a tensor whose shape does not fit `c`, naming it) before any
  // device memory is taken, and cuda::CudaError when an allocation or copy fails.
  GpuAdapter(const llama::LoraAdapter<float>& a, const llama::LlamaConfig& c);
  // A copy of the LoRA adapter `model` holds now (set_lora / init_lora / training: the storage-T
  // shadows of its fp32 masters), made on the model's stream and waited for. Throws
  // std::logic_error when the model has none, cuda::CudaError when a copy fails.
  explicit GpuAdapter(const GpuLlama<T>& model);

  int64_t rank() const { return rank_; }
  // alpha / r (or alpha / sqrt(r) with rslora): the adapter's own factor, before a request's scale.
  float scale() const { return scale_; }
  int64_t n_layers() const { return static_cast<int64_t>(layers_.size()); }
  // Module m (wb::llama::LoraModule order: q, k, v, o, gate, up, down) of layer l: A [r, in] and
  // B [out, r] on the device, or nullptr when the adapter does not target it.
  const T* A(int64_t layer, int m) const;
  const T* B(int64_t layer, int m) const;
  // Device bytes of every matrix.
  int64_t bytes() const { return bytes_; }
  // Whether the adapter was built for a model of this shape (layers, widths, kv width).
  bool fits(const llama::LlamaConfig& c) const;

 private:
  struct Pair {
    cuda::DeviceBuffer<T> A, B;
  };
  int64_t rank_ = 0;
  float scale_ = 1.0f;
  int64_t bytes_ = 0;
  llama::LlamaConfig config_;
  std::vector<std::array<Pair, llama::kNumLinear>> layers_;
};

}  // namespace wb::gpu
