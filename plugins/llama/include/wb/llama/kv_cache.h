// KvCache<T>: the keys and values (post-RoPE) of one sequence, every layer, for incremental
// decoding. Memory grows with the sequence (capacity doubles, starting at 64 tokens) up to a
// maximum (the model's context length by default, 4096 for Llama 2), so a short request never
// pays for the full context.
//
// Layout per layer: k and v are row-major [capacity, kv_dim] (kv_dim = n_kv_heads * head_dim),
// row t holding position t — the layout kernels::attention_forward_seq reads with ldkv = kv_dim.
//
// Use for n new tokens:  reserve(length() + n); write(l, ...) for every layer; advance(n).
#pragma once

#include <cstdint>
#include <vector>

#include "wb/llama/config.h"

namespace wb::llama {

template <typename T>
class KvCache {
 public:
  // max_tokens 0 = config.max_position_embeddings. Allocates nothing yet.
  explicit KvCache(const LlamaConfig& c, int64_t max_tokens = 0);

  int64_t length() const { return length_; }
  int64_t capacity() const { return capacity_; }
  int64_t max_tokens() const { return max_tokens_; }
  int64_t kv_dim() const { return kv_dim_; }
  int64_t n_layers() const { return static_cast<int64_t>(k_.size()); }

  // Ensures room for `tokens` rows (grows geometrically, keeps contents). Throws
  // std::length_error naming both numbers when tokens > max_tokens().
  void reserve(int64_t tokens);
  // Copies n rows of k and v ([n, kv_dim] each, row stride kv_dim) to rows [row, row + n) of
  // layer l; row + n must be <= capacity().
  void write(int64_t layer, int64_t row, const T* k_rows, const T* v_rows, int64_t n);
  // Marks n more rows as filled (after every layer was written).
  void advance(int64_t n);
  // Forgets the contents (keeps the memory).
  void clear() { length_ = 0; }
  // Drops tokens after `length` (e.g. to re-run a rejected suffix).
  void truncate(int64_t length);

  const T* k(int64_t layer) const { return k_[layer].data(); }
  const T* v(int64_t layer) const { return v_[layer].data(); }
  // Bytes allocated for keys and values.
  int64_t bytes() const;

 private:
  int64_t kv_dim_ = 0;
  int64_t max_tokens_ = 0;
  int64_t capacity_ = 0;
  int64_t length_ = 0;
  std::vector<std::vector<T>> k_, v_;
};

}  // namespace wb::llama
