#include "wb/llama/kv_cache.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

namespace wb::llama {

template <typename T>
KvCache<T>::KvCache(const LlamaConfig& c, int64_t max_tokens)
    : kv_dim_(c.kv_dim()),
      max_tokens_(max_tokens > 0 ? max_tokens : c.max_position_embeddings),
      k_(static_cast<size_t>(c.num_hidden_layers)),
      v_(static_cast<size_t>(c.num_hidden_layers)) {
  if (max_tokens_ <= 0) throw std::invalid_argument("kv cache: no context length (max_position_embeddings)");
}

template <typename T>
void KvCache<T>::reserve(int64_t tokens) {
  if (tokens <= capacity_) return;
  if (tokens > max_tokens_)
    throw std::length_error("kv cache: " + std::to_string(tokens) + " tokens exceed the context length " +
                            std::to_string(max_tokens_));
  int64_t cap = std::max<int64_t>(capacity_, 64);
  while (cap < tokens) cap *= 2;
  cap = std::min(cap, max_tokens_);
  const size_t elems = static_cast<size_t>(cap * kv_dim_);
  for (size_t l = 0; l < k_.size(); ++l) {
    // Exact-size buffers (no vector slack): copy the filled rows into the larger ones.
    std::vector<T> nk(elems), nv(elems);
    std::memcpy(nk.data(), k_[l].data(), sizeof(T) * static_cast<size_t>(length_ * kv_dim_));
    std::memcpy(nv.data(), v_[l].data(), sizeof(T) * static_cast<size_t>(length_ * kv_dim_));
    k_[l].swap(nk);
    v_[l].swap(nv);
  }
  capacity_ = cap;
}

template <typename T>
void KvCache<T>::write(int64_t layer, int64_t row, const T* k_rows, const T* v_rows, int64_t n) {
  if (layer < 0 || layer >= n_layers() || row < 0 || row + n > capacity_)
    throw std::out_of_range("kv cache: write outside the reserved rows");
  const size_t off = static_cast<size_t>(row * kv_dim_), cnt = static_cast<size_t>(n * kv_dim_);
  std::memcpy(k_[layer].data() + off, k_rows, sizeof(T) * cnt);
  std::memcpy(v_[layer].data() + off, v_rows, sizeof(T) * cnt);
}

template <typename T>
void KvCache<T>::advance(int64_t n) {
  if (n < 0 || length_ + n > capacity_) throw std::out_of_range("kv cache: advance past the reserved rows");
  length_ += n;
}

template <typename T>
void KvCache<T>::truncate(int64_t length) {
  if (length < 0 || length > length_) throw std::out_of_range("kv cache: truncate outside the cached tokens");
  length_ = length;
}

template <typename T>
int64_t KvCache<T>::bytes() const {
  return 2 * static_cast<int64_t>(k_.size()) * capacity_ * kv_dim_ * static_cast<int64_t>(sizeof(T));
}

template class KvCache<float>;
template class KvCache<double>;

}  // namespace wb::llama
