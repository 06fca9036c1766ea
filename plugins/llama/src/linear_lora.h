// Private to the engine (src/): a base linear layer plus the LoRA products of every adapter
// segment, forward and backward, shared by forward.cpp and backward.cpp.
#pragma once

#include <cstdint>
#include <vector>

#include "wb/llama/model.h"

namespace wb::llama::detail {

// Dropout seed of (layer, module, segment start) under the pass's dropout_seed.
uint64_t dropout_seed(uint64_t base, int64_t layer, LoraModule m, int64_t row_begin);

// Whether LoRA dropout applies to `adapter` in this pass (training the model's own adapter).
template <typename T>
bool dropout_active(const Model<T>& m, const LoraAdapter<T>* adapter, const ForwardOptions& o);

// Elements of LayerActs::lora_t needed for module `mod` over the segments.
template <typename T>
int64_t lora_t_size(int64_t layer, LoraModule mod, const std::vector<AdapterSegment<T>>& segs);

// y[n,out] = x W^T + sum over segments of scale * B A dropout(x_seg). t receives each segment's
// x_seg A^T block in order; drop is scratch of rows*in elements (grown as needed).
template <typename T>
void linear_lora_forward(const Model<T>& m, int64_t layer, LoraModule mod, const T* x, int64_t n,
                         const std::vector<AdapterSegment<T>>& segs, const ForwardOptions& opts,
                         T* y, T* t, std::vector<T>& drop);

// The LoRA part of the above alone: y[n,out] += the segments' low-rank products (after a base
// product computed elsewhere, e.g. a fused q/k/v GEMM).
template <typename T>
void lora_add(const Model<T>& m, int64_t layer, LoraModule mod, const T* x,
              const std::vector<AdapterSegment<T>>& segs, const ForwardOptions& opts, T* y, T* t,
              std::vector<T>& drop);

// Whether the base product of n rows runs as one sgemm/dgemm (not the row kernel, not BLAS row
// tiles, not gemv): then products sharing an input may run as one fused GEMM with the same
// result per element.
template <typename T>
bool base_product_is_gemm(int64_t n, const ForwardOptions& opts);

// Backward of the above: dx += (nullable), dW += (nullable), and LoRA dA/dB += for the segments
// whose adapter is `trained` (grads: the trained adapter's gradient, nullable).
template <typename T>
void linear_lora_backward(const Model<T>& m, int64_t layer, LoraModule mod, const T* x,
                          int64_t n, const std::vector<AdapterSegment<T>>& segs,
                          const ForwardOptions& opts, const T* dy, const T* t, T* dx, T* dW,
                          LoraAdapter<T>* lora_grads, std::vector<T>& dt_scratch,
                          std::vector<T>& drop_x, std::vector<T>& drop_dx);

// Grows v to at least n elements (never shrinks).
template <typename T>
inline T* grow(std::vector<T>& v, int64_t n) {
  if (static_cast<int64_t>(v.size()) < n) v.resize(n);
  return v.data();
}

}  // namespace wb::llama::detail
