#include "wb/llama/attention_share.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "wb/llama/batch.h"
#include "wb/llama/forward.h"
#include "wb/llama/workspace.h"

namespace wb::llama {

template <typename T>
std::vector<double> span_attention_share(const T* q, const T* k, int64_t n, int64_t n_heads, int64_t n_kv_heads,
                                         int64_t head_dim, KeySpan span) {
  if (span.begin < 0 || span.end < span.begin || span.end > n)
    throw std::invalid_argument("attention share: key span [" + std::to_string(span.begin) + ", " +
                                std::to_string(span.end) + ") is outside the sequence of " + std::to_string(n));
  const int64_t group = n_heads / n_kv_heads, ldq = n_heads * head_dim, ldk = n_kv_heads * head_dim;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  std::vector<double> share(static_cast<size_t>(n), 0.0), scores(static_cast<size_t>(n));
  for (int64_t h = 0; h < n_heads; ++h) {
    const T* kh = k + (h / group) * head_dim;
    for (int64_t i = 0; i < n; ++i) {
      const T* qi = q + i * ldq + h * head_dim;
      double mx = -INFINITY;
      for (int64_t j = 0; j <= i; ++j) {
        double s = 0;
        for (int64_t d = 0; d < head_dim; ++d) s += static_cast<double>(qi[d]) * static_cast<double>(kh[j * ldk + d]);
        scores[j] = s * scale;
        mx = std::max(mx, scores[j]);
      }
      double sum = 0, in_span = 0;
      for (int64_t j = 0; j <= i; ++j) {
        const double e = std::exp(scores[j] - mx);
        sum += e;
        if (j >= span.begin && j < span.end) in_span += e;
      }
      share[i] += in_span / sum / static_cast<double>(n_heads);
    }
  }
  return share;
}

template <typename T>
std::vector<std::vector<double>> attention_share(const Model<T>& m, const std::vector<int32_t>& tokens,
                                                 KeySpan span, const LoraAdapter<T>* adapter) {
  if (tokens.empty()) throw std::invalid_argument("attention share: empty sequence");
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (span.begin < 0 || span.end < span.begin || span.end > n)
    throw std::invalid_argument("attention share: key span [" + std::to_string(span.begin) + ", " +
                                std::to_string(span.end) + ") is outside the sequence of " + std::to_string(n));
  Workspace<T> ws;
  ForwardOptions opts;
  opts.logits = false;
  opts.for_backward = true;  // keeps every layer's q and k
  std::vector<const LoraAdapter<T>*> adapters;
  if (adapter) adapters.push_back(adapter);
  forward(m, Batch::pack({tokens}), ws, opts, adapters);
  const LlamaConfig& c = m.config;
  std::vector<std::vector<double>> out;
  for (int64_t l = 0; l < c.num_hidden_layers; ++l)
    out.push_back(span_attention_share(ws.acts[l].q.data(), ws.acts[l].k.data(), n, c.num_attention_heads,
                                       c.num_key_value_heads, c.head_dim(), span));
  return out;
}

#define WB_INSTANTIATE(T)                                                                                   \
  template std::vector<double> span_attention_share<T>(const T*, const T*, int64_t, int64_t, int64_t, int64_t, \
                                                       KeySpan);                                            \
  template std::vector<std::vector<double>> attention_share<T>(const Model<T>&, const std::vector<int32_t>&, \
                                                               KeySpan, const LoraAdapter<T>*);
WB_INSTANTIATE(float)
WB_INSTANTIATE(double)
#undef WB_INSTANTIATE

}  // namespace wb::llama
