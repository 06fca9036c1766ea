#include "wb/llama/decode.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "wb/kernels/attention.h"
#include "wb/llama/forward.h"
#include "row_invariant_gemm.h"

namespace wb::llama {

template <typename T>
Decoder<T>::Decoder(const Model<T>& model) : model_(model) {
  model_.config.validate();
}

template <typename T>
void Decoder<T>::forward(std::span<DecodeSequence<T>* const> seqs,
                         const std::vector<std::vector<int32_t>>& tokens, std::vector<T>& logits,
                         bool all_positions) {
  const LlamaConfig& c = model_.config;
  const int64_t S = static_cast<int64_t>(seqs.size());
  if (S == 0) throw std::invalid_argument("decode: no sequences");
  if (static_cast<int64_t>(tokens.size()) != S)
    throw std::invalid_argument("decode: " + std::to_string(tokens.size()) + " token lists for " +
                                std::to_string(S) + " sequences");
  // Validate everything before touching any cache.
  std::vector<int64_t> row0(static_cast<size_t>(S + 1), 0);
  for (int64_t s = 0; s < S; ++s) {
    const auto& t = tokens[s];
    if (t.empty()) throw std::invalid_argument("decode: sequence " + std::to_string(s) + " has no new tokens");
    for (int32_t id : t)
      if (id < 0 || id >= c.vocab_size)
        throw std::invalid_argument("decode: token id " + std::to_string(id) + " outside the vocabulary [0, " +
                                    std::to_string(c.vocab_size) + ")");
    const int64_t need = seqs[s]->length() + static_cast<int64_t>(t.size());
    if (need > c.max_position_embeddings || need > seqs[s]->cache.max_tokens())
      throw std::length_error("decode: sequence " + std::to_string(s) + " would reach " + std::to_string(need) +
                              " tokens, past its context of " +
                              std::to_string(std::min(c.max_position_embeddings, seqs[s]->cache.max_tokens())));
    if (seqs[s]->adapter) seqs[s]->adapter->check_shapes(c);
    row0[s + 1] = row0[s] + static_cast<int64_t>(t.size());
  }
  for (int64_t s = 0; s < S; ++s) seqs[s]->cache.reserve(seqs[s]->length() + static_cast<int64_t>(tokens[s].size()));

  const int64_t n = row0[S], D = c.hidden_size, H = c.num_attention_heads, KV = c.num_key_value_heads;
  const int64_t hd = c.head_dim(), kvd = c.kv_dim();
  ids_.clear();
  positions_.clear();
  for (int64_t s = 0; s < S; ++s)
    for (size_t i = 0; i < tokens[s].size(); ++i) {
      ids_.push_back(tokens[s][i]);
      positions_.push_back(static_cast<int32_t>(seqs[s]->length() + static_cast<int64_t>(i)));
    }
  // Row segments by adapter (adjacent sequences sharing one merge).
  std::vector<AdapterSegment<T>> segs;
  for (int64_t s = 0; s < S; ++s) {
    if (!segs.empty() && segs.back().adapter == seqs[s]->adapter &&
        segs.back().scale == seqs[s]->adapter_scale)
      segs.back().row_end = row0[s + 1];
    else
      segs.push_back({row0[s], row0[s + 1], seqs[s]->adapter, seqs[s]->adapter_scale});
  }
  std::array<int64_t, kNumLinear> lora_t{};
  for (const auto& g : segs) {
    if (!g.adapter) continue;
    for (LoraModule mod : all_lora_modules())
      if (g.adapter->config.targets(mod))
        lora_t[static_cast<int>(mod)] += (g.row_end - g.row_begin) * g.adapter->config.r;
  }
  acts_.resize(c, n, lora_t);
  ForwardOptions opts;  // inference: no dropout, nothing kept
  opts.row_tile = row_tile_;
  opts.row_invariant = row_invariant_;
  opts.stream_rows = stream_rows_;
  opts.fuse_products = fuse_products_;

  x_.resize(static_cast<size_t>(n * D));
  embed(model_, ids_.data(), n, x_.data());
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    layer_qkv(model_, l, x_.data(), positions_.data(), n, segs, acts_, opts);
    for (int64_t s = 0; s < S; ++s) {
      KvCache<T>& kc = seqs[s]->cache;
      const int64_t r = row0[s], nq = row0[s + 1] - r, past = kc.length();
      kc.write(l, past, acts_.k.data() + r * kvd, acts_.v.data() + r * kvd, nq);
      const int64_t lk = past + nq;
      if (static_cast<int64_t>(scratch_.size()) < nq * lk) scratch_.resize(static_cast<size_t>(nq * lk));
      kernels::attention_forward_seq<T>(acts_.att.data() + r * H * hd, H * hd, nullptr, scratch_.data(),
                                        acts_.q.data() + r * H * hd, H * hd, kc.k(l), kc.v(l), kvd, nq, lk,
                                        H, KV, hd);
    }
    layer_out_mlp(model_, l, x_.data(), segs, acts_, opts, x_.data());
  }
  for (int64_t s = 0; s < S; ++s) seqs[s]->cache.advance(row0[s + 1] - row0[s]);

  // Final norm and LM head only on the rows whose logits are wanted.
  const T* src = x_.data();
  int64_t out_rows = n;
  if (!all_positions) {
    rows_.resize(static_cast<size_t>(S * D));
    for (int64_t s = 0; s < S; ++s)
      std::memcpy(rows_.data() + s * D, x_.data() + (row0[s + 1] - 1) * D, sizeof(T) * static_cast<size_t>(D));
    src = rows_.data();
    out_rows = S;
  }
  // The row kernel: batch-invariant mode, and a decode batch's LM head otherwise (2..stream_rows
  // rows, where it beats sgemm: ForwardOptions::stream_rows).
  const bool stream = std::is_same_v<T, float> && row_tile_ <= 0 && out_rows >= 2 && out_rows <= stream_rows_;
  if (row_invariant_ || stream) {
    hidden_.resize(static_cast<size_t>(out_rows * D));
    final_norm(model_, src, out_rows, hidden_.data(), static_cast<T*>(nullptr));
    logits.resize(static_cast<size_t>(out_rows * c.vocab_size));
    detail::row_invariant_gemm_nt<T>(out_rows, c.vocab_size, D, T(1), hidden_.data(),
                                     model_.weights.output_embedding().ptr(), T(0), logits.data());
    return;
  }
  // Batch-invariant mode in BLAS tiles pads the LM head's rows to whole tiles (zeros) and runs one
  // tile a call.
  const int64_t tile = row_tile_, padded = tile > 0 ? (out_rows + tile - 1) / tile * tile : out_rows;
  hidden_.assign(static_cast<size_t>(padded * D), T(0));
  final_norm(model_, src, out_rows, hidden_.data(), static_cast<T*>(nullptr));
  logits.resize(static_cast<size_t>(padded * c.vocab_size));
  if (tile > 0) {
    for (int64_t r = 0; r < padded; r += tile)
      lm_head(model_, hidden_.data() + r * D, tile, logits.data() + r * c.vocab_size);
    logits.resize(static_cast<size_t>(out_rows * c.vocab_size));
  } else {
    lm_head(model_, hidden_.data(), out_rows, logits.data());
  }
}

template <typename T>
void Decoder<T>::step(std::span<DecodeSequence<T>* const> seqs, const std::vector<int32_t>& tokens,
                      std::vector<T>& logits) {
  std::vector<std::vector<int32_t>> per(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) per[i] = {tokens[i]};
  forward(seqs, per, logits, false);
}

template <typename T>
void Decoder<T>::prefill(DecodeSequence<T>& seq, const std::vector<int32_t>& tokens, std::vector<T>& last_logits,
                         int64_t chunk) {
  if (tokens.empty()) throw std::invalid_argument("prefill: empty prompt");
  if (chunk < 1) throw std::invalid_argument("prefill: chunk must be >= 1");
  const int64_t total = static_cast<int64_t>(seq.length()) + static_cast<int64_t>(tokens.size());
  if (total > model_.config.max_position_embeddings || total > seq.cache.max_tokens())
    throw std::length_error("prefill: " + std::to_string(total) + " tokens exceed the context length");
  DecodeSequence<T>* one[1] = {&seq};
  for (size_t at = 0; at < tokens.size(); at += static_cast<size_t>(chunk)) {
    const size_t end = std::min(tokens.size(), at + static_cast<size_t>(chunk));
    std::vector<std::vector<int32_t>> part{std::vector<int32_t>(tokens.begin() + static_cast<ptrdiff_t>(at),
                                                                tokens.begin() + static_cast<ptrdiff_t>(end))};
    forward(std::span<DecodeSequence<T>* const>(one, 1), part, last_logits, false);
  }
}

template class Decoder<float>;
template class Decoder<double>;

}  // namespace wb::llama
