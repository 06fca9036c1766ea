// Batch: a set of PACKED token sequences — rows of every sequence laid end to end, with
// cu_seqlens (FlashAttention's convention) marking where each sequence starts. Attention stays
// inside each sequence; positions restart per sequence unless given explicitly.
//
//   Batch b = Batch::pack({{1, 5, 9, 2}, {1, 7}});   // N = 6 rows, S = 2 sequences
//   b.cu_seqlens == {0, 4, 6}; b.positions == {0,1,2,3, 0,1}; b.last_index == {3, 5}
#pragma once

#include <cstdint>
#include <vector>

#include "wb/llama/config.h"

namespace wb::llama {

struct Batch {
  std::vector<int32_t> tokens;      // [N] token ids
  std::vector<int32_t> positions;   // [N] absolute positions (RoPE); empty = 0.. within sequence
  std::vector<int32_t> cu_seqlens;  // [S+1]: 0 = c_0 < c_1 < ... < c_S = N
  // [S] row of each sequence's last REAL token, read by the scalar head (reward/value). Must lie
  // inside the sequence; empty = the sequence's last row. Set it when sequences carry padding.
  std::vector<int32_t> last_index;

  int64_t n_tokens() const { return static_cast<int64_t>(tokens.size()); }
  int64_t n_seqs() const { return cu_seqlens.empty() ? 0 : static_cast<int64_t>(cu_seqlens.size()) - 1; }
  int64_t seq_begin(int64_t s) const { return cu_seqlens[s]; }
  int64_t seq_len(int64_t s) const { return cu_seqlens[s + 1] - cu_seqlens[s]; }

  // Packs whole sequences (each non-empty) and fills positions and last_index.
  static Batch pack(const std::vector<std::vector<int32_t>>& seqs);
  // Fills positions / last_index when empty (0..L-1 per sequence; last row per sequence).
  void fill_defaults();
  // Throws std::invalid_argument naming the problem: empty batch, bad cu_seqlens, a token id
  // outside [0, vocab), a negative position or one >= max_position_embeddings (when > 0),
  // a last_index outside its sequence, or size mismatches.
  void validate(const LlamaConfig& c) const;
};

}  // namespace wb::llama
