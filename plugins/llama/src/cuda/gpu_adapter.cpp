#include "wb/llama/cuda/gpu_adapter.h"

#include <stdexcept>

#include "wb/cuda/dtype.h"
#include "wb/cuda/stream.h"
#include "wb/llama/cuda/gpu_llama.h"

namespace wb::gpu {

template <typename T>
GpuAdapter<T>::GpuAdapter(const llama::LoraAdapter<float>& a, const llama::LlamaConfig& c)
    : rank_(a.config.r), scale_(static_cast<float>(a.config.scale())), config_(c) {
  a.check_shapes(c);  // throws before anything is allocated
  layers_.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    for (int m = 0; m < llama::kNumLinear; ++m) {
      const auto* src = a.pair(l, static_cast<llama::LoraModule>(m));
      if (!src || !src->present()) continue;
      Pair& p = layers_[static_cast<size_t>(l)][static_cast<size_t>(m)];
      p.A = cuda::to_device(cuda::from_float<T>(src->A.data));
      p.B = cuda::to_device(cuda::from_float<T>(src->B.data));
      bytes_ += static_cast<int64_t>(p.A.bytes() + p.B.bytes());
    }
}

template <typename T>
GpuAdapter<T>::GpuAdapter(const GpuLlama<T>& m) : rank_(m.lora_.rank), scale_(m.lora_.scale), config_(m.c_) {
  if (!m.has_lora_) throw std::logic_error("GpuAdapter: the model has no LoRA adapter");
  layers_.resize(m.lora_pairs_.size());
  for (size_t l = 0; l < m.lora_pairs_.size(); ++l)
    for (size_t k = 0; k < size_t(llama::kNumLinear); ++k) {
      const auto& src = m.lora_pairs_[l][k];
      if (!src.on) continue;
      Pair& p = layers_[l][k];
      p.A = cuda::DeviceBuffer<T>(src.A.size());
      p.B = cuda::DeviceBuffer<T>(src.B.size());
      cuda::copy_device(p.A.data(), src.A.data(), src.A.size(), m.ctx_.s());
      cuda::copy_device(p.B.data(), src.B.data(), src.B.size(), m.ctx_.s());
      bytes_ += static_cast<int64_t>(p.A.bytes() + p.B.bytes());
    }
  m.ctx_.synchronize();
}

template <typename T>
const T* GpuAdapter<T>::A(int64_t layer, int m) const {
  return layers_.at(static_cast<size_t>(layer)).at(static_cast<size_t>(m)).A.data();
}

template <typename T>
const T* GpuAdapter<T>::B(int64_t layer, int m) const {
  return layers_.at(static_cast<size_t>(layer)).at(static_cast<size_t>(m)).B.data();
}

template <typename T>
bool GpuAdapter<T>::fits(const llama::LlamaConfig& c) const {
  return c.num_hidden_layers == config_.num_hidden_layers && c.hidden_size == config_.hidden_size &&
         c.intermediate_size == config_.intermediate_size && c.kv_dim() == config_.kv_dim();
}

template class GpuAdapter<float>;
template class GpuAdapter<cuda::bf16>;

}  // namespace wb::gpu
