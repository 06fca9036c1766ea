// Batch packing, defaults and validation.
#include "wb/llama/batch.h"

#include <stdexcept>
#include <string>

namespace wb::llama {

Batch Batch::pack(const std::vector<std::vector<int32_t>>& seqs) {
  Batch b;
  b.cu_seqlens.push_back(0);
  for (size_t s = 0; s < seqs.size(); ++s) {
    if (seqs[s].empty())
      throw std::invalid_argument("batch: sequence " + std::to_string(s) + " is empty");
    b.tokens.insert(b.tokens.end(), seqs[s].begin(), seqs[s].end());
    b.cu_seqlens.push_back(static_cast<int32_t>(b.tokens.size()));
  }
  b.fill_defaults();
  return b;
}

void Batch::fill_defaults() {
  if (positions.empty()) {
    positions.resize(tokens.size());
    for (int64_t s = 0; s < n_seqs(); ++s)
      for (int64_t i = cu_seqlens[s]; i < cu_seqlens[s + 1]; ++i)
        positions[i] = static_cast<int32_t>(i - cu_seqlens[s]);
  }
  if (last_index.empty()) {
    last_index.resize(n_seqs());
    for (int64_t s = 0; s < n_seqs(); ++s) last_index[s] = cu_seqlens[s + 1] - 1;
  }
}

void Batch::validate(const LlamaConfig& c) const {
  const int64_t N = n_tokens();
  if (N == 0) throw std::invalid_argument("batch: no tokens");
  if (cu_seqlens.size() < 2 || cu_seqlens.front() != 0 || cu_seqlens.back() != N)
    throw std::invalid_argument("batch: cu_seqlens must start at 0 and end at the token count " +
                                std::to_string(N));
  for (size_t s = 0; s + 1 < cu_seqlens.size(); ++s)
    if (cu_seqlens[s + 1] <= cu_seqlens[s])
      throw std::invalid_argument("batch: sequence " + std::to_string(s) +
                                  " is empty (cu_seqlens must strictly increase)");
  for (int64_t i = 0; i < N; ++i)
    if (tokens[i] < 0 || tokens[i] >= c.vocab_size)
      throw std::invalid_argument("batch: token " + std::to_string(tokens[i]) + " at row " +
                                  std::to_string(i) + " is outside the vocabulary [0, " +
                                  std::to_string(c.vocab_size) + ")");
  if (!positions.empty()) {
    if (static_cast<int64_t>(positions.size()) != N)
      throw std::invalid_argument("batch: positions has " + std::to_string(positions.size()) +
                                  " entries for " + std::to_string(N) + " tokens");
    for (int64_t i = 0; i < N; ++i)
      if (positions[i] < 0 ||
          (c.max_position_embeddings > 0 && positions[i] >= c.max_position_embeddings))
        throw std::invalid_argument("batch: position " + std::to_string(positions[i]) +
                                    " at row " + std::to_string(i) +
                                    " is outside [0, max_position_embeddings)");
  }
  if (!last_index.empty()) {
    if (static_cast<int64_t>(last_index.size()) != n_seqs())
      throw std::invalid_argument("batch: last_index has " + std::to_string(last_index.size()) +
                                  " entries for " + std::to_string(n_seqs()) + " sequences");
    for (int64_t s = 0; s < n_seqs(); ++s)
      if (last_index[s] < cu_seqlens[s] || last_index[s] >= cu_seqlens[s + 1])
        throw std::invalid_argument("batch: last_index " + std::to_string(last_index[s]) +
                                    " of sequence " + std::to_string(s) +
                                    " is outside its rows [" + std::to_string(cu_seqlens[s]) +
                                    ", " + std::to_string(cu_seqlens[s + 1]) + ")");
  }
}

}  // namespace wb::llama
