// Workspace / LayerActs sizing.
#include "wb/llama/workspace.h"

#include "linear_lora.h"

namespace wb::llama {

template <typename T>
void LayerActs<T>::resize(const LlamaConfig& c, int64_t rows,
                          const std::array<int64_t, kNumLinear>& lora_t_size) {
  using detail::grow;
  n = rows;
  const int64_t D = c.hidden_size, F = c.intermediate_size;
  const int64_t QD = c.num_attention_heads * c.head_dim(), KVD = c.kv_dim();
  grow(ln1, rows * D);
  grow(rstd1, rows);
  grow(q, rows * QD);
  grow(k, rows * KVD);
  grow(v, rows * KVD);
  grow(lse, rows * c.num_attention_heads);
  grow(att, rows * QD);
  grow(x_mid, rows * D);
  grow(ln2, rows * D);
  grow(rstd2, rows);
  grow(g, rows * F);
  grow(u, rows * F);
  grow(h, rows * F);
  for (int i = 0; i < kNumLinear; ++i) grow(lora_t[i], lora_t_size[i]);
}

template <typename T>
int64_t Workspace<T>::bytes() const {
  int64_t n = 0;
  auto add = [&](const std::vector<T>& v) { n += static_cast<int64_t>(v.capacity()); };
  for (const auto& v : layer_in) add(v);
  for (const auto& a : acts) {
    for (const auto* v : {&a.ln1, &a.rstd1, &a.q, &a.k, &a.v, &a.lse, &a.att, &a.x_mid,
                          &a.ln2, &a.rstd2, &a.g, &a.u, &a.h, &a.drop_x})
      add(*v);
    for (const auto& v : a.lora_t) add(v);
  }
  for (const auto* v : {&final_rstd, &hidden, &logits, &head_values, &dres, &dhidden, &dln, &dq,
                        &dk, &dv, &datt, &dg, &du, &dh, &dlora_t, &drop_x, &drop_dx,
                        &attn_scratch})
    add(*v);
  return n * static_cast<int64_t>(sizeof(T));
}

template struct LayerActs<float>;
template struct LayerActs<double>;
template struct Workspace<float>;
template struct Workspace<double>;

}  // namespace wb::llama
