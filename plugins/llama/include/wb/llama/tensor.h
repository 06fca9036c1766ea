// Tensor<T>: an owned, row-major, host-memory array with a shape — the storage unit of the
// engine's weights, adapters, heads and gradients. Deliberately minimal: the ops in wb/kernels
// work on raw pointers, and Tensor only owns memory and remembers the shape that HF files use.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace wb::llama {

template <typename T>
struct Tensor {
  std::vector<int64_t> shape;
  std::vector<T> data;

  Tensor() = default;
  // Zero-filled tensor of the given shape (every dimension >= 0).
  explicit Tensor(std::vector<int64_t> s) : shape(std::move(s)), data(count(shape), T(0)) {}

  static int64_t count(const std::vector<int64_t>& s) {
    int64_t n = 1;
    for (int64_t d : s) {
      if (d < 0) throw std::invalid_argument("Tensor: negative dimension");
      n *= d;
    }
    return n;
  }
  int64_t numel() const { return static_cast<int64_t>(data.size()); }
  bool empty() const { return data.empty(); }
  T* ptr() { return data.data(); }
  const T* ptr() const { return data.data(); }
  // "[a, b]" for error messages.
  std::string shape_string() const {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
  }
};

}  // namespace wb::llama
