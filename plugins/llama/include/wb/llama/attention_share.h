// attention_share.h — how much attention each position pays to a span of earlier positions (the
// Llama 2 paper's Figure 10: the attention on the system message, turn by turn).
//
// For one sequence and each layer l: share[l][i] = mean over heads h of
//   sum_{j in [span.begin, span.end), j <= i} P_{l,h}(i, j),
// where P_{l,h} is the causal softmax of (q_i . k_j) / sqrt(head_dim) over j <= i — the
// probabilities of the model's own forward pass, recomputed in double from the q and k (after
// RoPE) that forward() keeps for backward. A plain loop on the CPU, for analysis, not training.
//
//   auto share = attention_share(model, tokens, {sys_begin, sys_end}, &adapter);
//   share[layer][position] in [0, 1]
#pragma once

#include <cstdint>
#include <vector>

#include "wb/llama/model.h"

namespace wb::llama {

struct KeySpan {
  int64_t begin = 0, end = 0;  // key positions [begin, end)
};

// Runs the model over `tokens` (one sequence, positions 0..n-1; adapter null = the model's own
// LoRA if any) and returns share[layer][position]. Throws std::invalid_argument for an empty
// sequence, a span outside [0, n] or with end < begin, or tokens the forward refuses.
template <typename T>
std::vector<std::vector<double>> attention_share(const Model<T>& m, const std::vector<int32_t>& tokens,
                                                 KeySpan span, const LoraAdapter<T>* adapter = nullptr);

// The same for one layer from its rows q [n, n_heads*head_dim] and k [n, n_kv_heads*head_dim]
// (grouped-query: head h reads kv head h / (n_heads / n_kv_heads)).
template <typename T>
std::vector<double> span_attention_share(const T* q, const T* k, int64_t n, int64_t n_heads, int64_t n_kv_heads,
                                         int64_t head_dim, KeySpan span);

}  // namespace wb::llama
